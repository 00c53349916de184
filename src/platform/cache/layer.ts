/**
 * The contract L2 (Redis) and L3 (disk) share: opaque encoded entries (see codec.ts) under stored keys.
 * Every implementation passes the same suite, test/platform/cache/layer-contract.ts.
 *
 * `ttlMs` is the physical lifetime (TTL + grace); Infinity keeps the entry until it is evicted.
 * Tags are stored keys' group names, already namespaced by the cache.
 */
export interface ByteLayer {
  readonly kind: 'l2' | 'l3';
  get(key: string): Promise<Buffer | undefined>;
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;
  set(key: string, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): Promise<void>;
  setMany(entries: readonly LayerEntry[]): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every key carrying any of `tags`. */
  deleteByTags(tags: readonly string[]): Promise<void>;
  /** Deletes every key starting with `prefix` ('' = all of this cache's keys). */
  clear(prefix: string): Promise<void>;
  /** Stored keys starting with `prefix` and matching the `*` glob `pattern` after it, at most `max`. */
  scan(prefix: string, pattern: string, max: number): Promise<string[]>;
  /** Small named blobs beside the entries (the persisted hot-key set). */
  readMeta(name: string): Promise<Buffer | undefined>;
  writeMeta(name: string, value: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface LayerEntry {
  key: string;
  payload: Buffer;
  ttlMs: number;
  tags: readonly string[] | undefined;
}
