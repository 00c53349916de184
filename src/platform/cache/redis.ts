import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { escapeGlob } from './keys.js';
import type { ByteLayer, LayerEntry } from './layer.js';

export interface RedisLayerOptions {
  /** `redis://host:port/db`; only used to build the connection. */
  url: string;
  /** Prefix of every Redis key this cache owns, e.g. `code:cache:`. */
  prefix: string;
  /**
   * When the oldest command in flight has waited this long, Redis is taken for hung: the connection is
   * dropped (failing every command in flight, which the breaker counts) and re-established.
   */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Reconnect backoff grows 50 ms per attempt up to this. */
  maxReconnectDelayMs: number;
  /** Connection events (errors are reported here instead of as unhandled 'error' events). */
  onEvent?: (event: 'ready' | 'close' | 'error', err?: Error) => void;
}

export type AcquireResult =
  | { kind: 'value'; payload: Buffer }
  | { kind: 'acquired'; token: number }
  | { kind: 'held'; pttl: number };

// SET with tags: the value, then each tag set (SADD the stored key). A tag set lives as long as its
// longest-lived member: it is created with the member's TTL, extended by longer ones, made persistent
// by a persistent one. Shared by the fenced write below.
const SET_TAGGED_BODY = `
local function setTagged(vkey, firstTag, payload, px, member)
  if px > 0 then redis.call('SET', vkey, payload, 'PX', px) else redis.call('SET', vkey, payload) end
  for i = firstTag, #KEYS do
    local existed = redis.call('EXISTS', KEYS[i])
    redis.call('SADD', KEYS[i], member)
    if existed == 0 then
      if px > 0 then redis.call('PEXPIRE', KEYS[i], px) end
    else
      local cur = redis.call('PTTL', KEYS[i])
      if cur >= 0 then
        if px == 0 then redis.call('PERSIST', KEYS[i]) elseif cur < px then redis.call('PEXPIRE', KEYS[i], px) end
      end
    end
  end
end
`;

const SCRIPTS = {
  // KEYS: value, tag sets...   ARGV: payload, px (0 = no expiry), member
  cacheSetTagged: `${SET_TAGGED_BODY}
setTagged(KEYS[1], 2, ARGV[1], tonumber(ARGV[2]), ARGV[3])
return 1`,
  // A write replayed after an outage: skipped when Redis holds an entry written later (bytes 25-32
  // of the header, codec.ts). KEYS: value, tag sets...   ARGV: payload, px, member
  cacheSetUnlessNewer: `${SET_TAGGED_BODY}
local v = redis.call('GET', KEYS[1])
if v and string.len(v) >= 33 and struct.unpack('>d', string.sub(v, 26, 33)) > struct.unpack('>d', string.sub(ARGV[1], 26, 33)) then return 0 end
setTagged(KEYS[1], 2, ARGV[1], tonumber(ARGV[2]), ARGV[3])
return 1`,
  // The lease holder's write: only while the lease still holds its fencing token, so a holder that
  // stalled past its lease cannot overwrite what the next holder wrote.
  // KEYS: value, lease, tag sets...   ARGV: token, payload, px, member
  cacheFencedSet: `${SET_TAGGED_BODY}
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
setTagged(KEYS[1], 3, ARGV[2], tonumber(ARGV[3]), ARGV[4])
return 1`,
  // One round trip: the value if somebody already wrote it (or rewrote the stale version the caller
  // knows), else a lease with a fresh fencing token from a monotonic counter, else who holds it.
  // KEYS: value, lease, fence counter   ARGV: lease px, known stale write id (8 bytes, see codec.ts) or ''
  cacheAcquire: `
local v = redis.call('GET', KEYS[1])
if v and (ARGV[2] == '' or string.sub(v, 18, 25) ~= ARGV[2]) then return {0, v} end
local t = redis.call('INCR', KEYS[3])
if redis.call('SET', KEYS[2], t, 'NX', 'PX', ARGV[1]) then return {1, t} end
return {2, redis.call('PTTL', KEYS[2])}`,
  // KEYS: lease   ARGV: token
  cacheRelease: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  // KEYS: tag sets   ARGV: value key prefix. Members are deleted in slices of 500 (unpack limits).
  cacheDeleteByTags: `
local n = 0
for i = 1, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #members, 500 do
    local batch = {}
    for k = j, math.min(j + 499, #members) do batch[#batch + 1] = ARGV[1] .. members[k] end
    n = n + redis.call('UNLINK', unpack(batch))
  end
  redis.call('UNLINK', KEYS[i])
end
return n`,
} as const;

type ScriptArg = string | Buffer | number;
interface Scripts {
  cacheSetTagged(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  cacheSetUnlessNewer(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  cacheFencedSet(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  cacheAcquireBuffer(numKeys: number, ...args: ScriptArg[]): Promise<[number, Buffer | number]>;
  cacheRelease(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  cacheDeleteByTags(numKeys: number, ...args: ScriptArg[]): Promise<number>;
}

const DEL_CHUNK = 1000;

function px(ttlMs: number): number {
  return ttlMs === Infinity ? 0 : Math.max(1, Math.ceil(ttlMs));
}

/**
 * L2: one ioredis connection with auto-pipelining (every command issued in one tick leaves in one
 * write), fail-fast settings (no offline queue, no replay of unanswered commands) and a stall watchdog,
 * so a sick Redis turns into quick errors for the breaker instead of callers left waiting.
 *
 * Why a watchdog instead of ioredis' `commandTimeout`: that option arms a timer per command and never
 * clears it (it fires later and finds the command settled), so at 100k gets/s it keeps ~100k timers
 * alive and halved L2 throughput in the benchmark. The watchdog looks at the head of the reply queue
 * a few times per timeout: if the same command is still first after `commandTimeoutMs`, nothing has
 * been answered for that long.
 *
 * Key layout under `prefix`: `v:<key>` entries, `t:<tag>` tag sets, `l:<key>` leases, `fence` the
 * fencing counter, `m:<name>` meta blobs. The bus channel is `<prefix>bus`.
 */
export class RedisLayer implements ByteLayer {
  readonly kind = 'l2' as const;
  readonly client: Redis;
  readonly prefix: string;
  private readonly vp: string;
  private readonly tp: string;
  private readonly lp: string;
  private readonly scripts: Scripts;
  private readonly options: RedisOptions;
  private readonly watchdog: NodeJS.Timeout;
  private lastHead: unknown;
  private headSince = 0;
  /** Times the watchdog found Redis hung and dropped the connection. */
  stalls = 0;

  constructor(opts: RedisLayerOptions) {
    this.prefix = opts.prefix;
    this.vp = `${opts.prefix}v:`;
    this.tp = `${opts.prefix}t:`;
    this.lp = `${opts.prefix}l:`;
    this.options = {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: opts.connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * times, opts.maxReconnectDelayMs),
      // A dropped connection to a hung server would otherwise wait 2 s for a FIN that never comes.
      disconnectTimeout: 100,
    };
    this.client = new Redis(opts.url, this.options);
    for (const [name, lua] of Object.entries(SCRIPTS)) this.client.defineCommand(name, { lua });
    this.scripts = this.client as unknown as Scripts;
    const onEvent = opts.onEvent;
    this.client.on('error', (err: Error) => onEvent?.('error', err));
    this.client.on('ready', () => onEvent?.('ready'));
    this.client.on('close', () => onEvent?.('close'));
    const timeout = opts.commandTimeoutMs;
    this.watchdog = setInterval(() => this.checkStall(timeout, onEvent), Math.max(10, Math.floor(timeout / 4)));
    this.watchdog.unref();
  }

  private checkStall(timeout: number, onEvent: RedisLayerOptions['onEvent']): void {
    // ioredis keeps commands awaiting a reply in `commandQueue` (a denque): first in, first answered.
    const queue = (this.client as unknown as { commandQueue?: { length: number; peekFront(): unknown } }).commandQueue;
    if (queue === undefined || queue.length === 0 || this.client.status !== 'ready') {
      this.lastHead = undefined;
      return;
    }
    const head = queue.peekFront();
    const now = Date.now();
    if (head !== this.lastHead) {
      this.lastHead = head;
      this.headSince = now;
      return;
    }
    if (now - this.headSince >= timeout) {
      this.stalls++;
      this.lastHead = undefined;
      onEvent?.('error', new Error(`Redis answered nothing for ${now - this.headSince} ms with ${queue.length} commands in flight; reconnecting`));
      this.client.disconnect(true);
    }
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves true once connected, false after `ms` (the cache starts anyway and L2 joins later). */
  waitReady(ms: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.client.on('ready', onReady);
    });
  }

  /** A second connection for SUBSCRIBE (a subscribed connection cannot run other commands). */
  subscriber(): Redis {
    return this.client.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false, commandTimeout: undefined });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.client.getBuffer(this.vp + key)) ?? undefined;
  }

  /** `get` without the async wrapper (null for missing): the cache's hot L2 read. */
  getRaw(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(this.vp + key);
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return [];
    const full = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) full[i] = this.vp + keys[i];
    const got = await this.client.mgetBuffer(...full);
    return got.map((b) => b ?? undefined);
  }

  async set(key: string, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): Promise<void> {
    const p = px(ttlMs);
    if (tags === undefined || tags.length === 0) {
      if (p === 0) await this.client.set(this.vp + key, payload);
      else await this.client.set(this.vp + key, payload, 'PX', p);
      return;
    }
    await this.scripts.cacheSetTagged(1 + tags.length, this.vp + key, ...tags.map((t) => this.tp + t), payload, p, key);
  }

  /** Writes unless Redis holds an entry written later (header writtenAt); true when written. */
  async setUnlessNewer(key: string, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): Promise<boolean> {
    const tagKeys = tags === undefined ? [] : tags.map((t) => this.tp + t);
    return (await this.scripts.cacheSetUnlessNewer(1 + tagKeys.length, this.vp + key, ...tagKeys, payload, px(ttlMs), key)) === 1;
  }

  async setMany(entries: readonly LayerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Issued in one tick: auto-pipelining sends them in one write, answered in one round trip.
    await Promise.all(entries.map((e) => this.set(e.key, e.payload, e.ttlMs, e.tags)));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const waits: Array<Promise<number>> = [];
    for (let i = 0; i < keys.length; i += DEL_CHUNK) waits.push(this.client.unlink(...keys.slice(i, i + DEL_CHUNK).map((k) => this.vp + k)));
    await Promise.all(waits);
  }

  async deleteByTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await this.scripts.cacheDeleteByTags(tags.length, ...tags.map((t) => this.tp + t), this.vp);
  }

  async clear(prefix: string): Promise<void> {
    for (const p of [this.vp, this.tp, this.lp]) {
      const match = `${escapeGlob(p + prefix)}*`;
      let cursor = '0';
      do {
        const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.client.unlink(...keys);
      } while (cursor !== '0');
    }
  }

  async scan(prefix: string, pattern: string, max: number): Promise<string[]> {
    const match = escapeGlob(this.vp + prefix) + pattern.split('*').map(escapeGlob).join('*');
    const found: string[] = [];
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        if (found.length >= max) return found;
        found.push(k.slice(this.vp.length));
      }
    } while (cursor !== '0' && ++rounds < 10_000);
    return found;
  }

  async readMeta(name: string): Promise<Buffer | undefined> {
    return (await this.client.getBuffer(`${this.prefix}m:${name}`)) ?? undefined;
  }

  async writeMeta(name: string, value: Buffer): Promise<void> {
    await this.client.set(`${this.prefix}m:${name}`, value, 'PX', 7 * 24 * 3600_000);
  }

  // ---- leases ------------------------------------------------------------------------------------

  /** `version`: the write id bytes of the stale entry the caller holds, so a rewrite counts as "written". */
  async acquire(key: string, leaseMs: number, version: Buffer | undefined): Promise<AcquireResult> {
    const [kind, v] = await this.scripts.cacheAcquireBuffer(3, this.vp + key, this.lp + key, `${this.prefix}fence`, Math.max(1, Math.ceil(leaseMs)), version ?? '');
    if (kind === 0) return { kind: 'value', payload: v as Buffer };
    if (kind === 1) return { kind: 'acquired', token: Number(String(v)) };
    return { kind: 'held', pttl: Number(v) };
  }

  /** True when written; false when the lease no longer holds `token` (expired, taken over). */
  async fencedSet(key: string, token: number, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): Promise<boolean> {
    const tagKeys = tags === undefined ? [] : tags.map((t) => this.tp + t);
    const n = await this.scripts.cacheFencedSet(2 + tagKeys.length, this.vp + key, this.lp + key, ...tagKeys, String(token), payload, px(ttlMs), key);
    return n === 1;
  }

  async release(key: string, token: number): Promise<void> {
    await this.scripts.cacheRelease(1, this.lp + key, String(token));
  }

  /** Remaining lease time in ms (<= 0: nobody holds it). */
  async leaseTtl(key: string): Promise<number> {
    return this.client.pttl(this.lp + key);
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    if (this.client.status === 'end') return;
    try {
      await Promise.race([this.client.quit(), new Promise((r) => setTimeout(r, 500).unref())]);
    } catch {
      // quitting a broken connection fails; disconnect below ends it either way
    }
    this.client.disconnect();
  }
}
