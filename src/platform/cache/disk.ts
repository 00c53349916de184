import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { CacheError } from './errors.js';
import { compileGlob } from './keys.js';
import type { ByteLayer, LayerEntry } from './layer.js';

export interface DiskLayerOptions {
  /** The SQLite file (its folder is created). */
  path: string;
  /** Bound on the stored payload bytes; past it the least recently read entries go. */
  maxBytes: number;
  maxItems: number;
  /** Pending writes are applied in one transaction per tick, or at once past this many. */
  maxPending?: number;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

export interface DiskLayerStats {
  items: number;
  bytes: number;
  maxItems: number;
  maxBytes: number;
  evictions: number;
  pending: number;
  errors: number;
}

/** Physical expiry stored for entries that never expire (SQLite INTEGER, beyond any real epoch ms). */
const NEVER = 8_640_000_000_000_000;
const SCHEMA_VERSION = 1;

type Pending = { payload: Buffer; expiresAt: number; tags: readonly string[] | undefined } | null;

/**
 * L3: a SQLite file (better-sqlite3, WAL). Why SQLite rather than one file per key: writes are atomic
 * (a kill -9 never leaves a torn entry), one file instead of an inode per key, eviction by an index on
 * last access instead of a directory walk, and a whole tick's writes commit in one transaction.
 *
 * Calls are synchronous underneath (µs for a page-cached row); the cache only reaches L3 on an L1
 * miss. Writes are write-behind: queued, readable at once from the queue, committed on the next tick.
 * Bounds are enforced after each commit: expired rows first, then the least recently read, down to
 * 90% of the bound so eviction does not run on every write.
 */
export class DiskLayer implements ByteLayer {
  readonly kind = 'l3' as const;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly maxItems: number;
  private readonly maxPending: number;
  private readonly onWarning: ((message: string, details?: Record<string, unknown>) => void) | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly touched = new Set<string>();
  private flushScheduled = false;
  private items = 0;
  private bytes = 0;
  private evictions = 0;
  private errors = 0;
  /** Logical clock for accessed_at: strictly increasing, so LRU order holds within one millisecond. */
  private seq = 0;
  private closed = false;
  private readonly purgeTimer: NodeJS.Timeout;
  private readonly st: {
    get: Database.Statement<[string, number], { payload: Buffer }>;
    size: Database.Statement<[string], { size: number }>;
    upsert: Database.Statement<[string, Buffer, number, number, number]>;
    del: Database.Statement<[string]>;
    delTags: Database.Statement<[string]>;
    addTag: Database.Statement<[string, string]>;
    touch: Database.Statement<[number, string]>;
    keysByTag: Database.Statement<[string], { key: string }>;
    expired: Database.Statement<[number, number], { key: string; size: number }>;
    oldest: Database.Statement<[number], { key: string; size: number }>;
    totals: Database.Statement<[], { n: number; b: number }>;
    metaGet: Database.Statement<[string], { value: Buffer }>;
    metaSet: Database.Statement<[string, Buffer]>;
  };
  private readonly commit: () => void;

  constructor(opts: DiskLayerOptions) {
    this.path = opts.path;
    this.maxBytes = opts.maxBytes;
    this.maxItems = opts.maxItems;
    this.maxPending = opts.maxPending ?? 1000;
    this.onWarning = opts.onWarning;
    this.db = this.open(opts.path);
    const db = this.db;
    this.st = {
      get: db.prepare('SELECT payload FROM cache_entries WHERE key = ? AND expires_at > ?'),
      size: db.prepare('SELECT size FROM cache_entries WHERE key = ?'),
      upsert: db.prepare(
        'INSERT INTO cache_entries (key, payload, expires_at, size, accessed_at) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT(key) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, size = excluded.size, accessed_at = excluded.accessed_at',
      ),
      del: db.prepare('DELETE FROM cache_entries WHERE key = ?'),
      delTags: db.prepare('DELETE FROM cache_tags WHERE key = ?'),
      addTag: db.prepare('INSERT OR IGNORE INTO cache_tags (tag, key) VALUES (?, ?)'),
      touch: db.prepare('UPDATE cache_entries SET accessed_at = ? WHERE key = ?'),
      keysByTag: db.prepare('SELECT key FROM cache_tags WHERE tag = ?'),
      expired: db.prepare('SELECT key, size FROM cache_entries WHERE expires_at <= ? LIMIT ?'),
      oldest: db.prepare('SELECT key, size FROM cache_entries ORDER BY accessed_at LIMIT ?'),
      totals: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM cache_entries'),
      metaGet: db.prepare('SELECT value FROM cache_meta WHERE name = ?'),
      metaSet: db.prepare('INSERT INTO cache_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
    };
    this.commit = db.transaction(() => this.applyPending());
    this.resyncTotals();
    this.seq = (db.prepare('SELECT COALESCE(MAX(accessed_at), 0) AS m FROM cache_entries').get() as { m: number }).m;
    this.purgeTimer = setInterval(() => this.safely('purge', () => this.purge()), 60_000);
    this.purgeTimer.unref();
  }

  private open(path: string): Database.Database {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      return this.openOnce(path);
    } catch (first) {
      let err = first;
      const code = (err as { code?: string }).code;
      // A cache file that is not a database (or is damaged) holds nothing worth keeping: move it aside.
      if ((code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') && path !== ':memory:' && existsSync(path)) {
        const aside = `${path}.corrupt-${Date.now()}`;
        renameSync(path, aside);
        for (const ext of ['-wal', '-shm']) if (existsSync(path + ext)) renameSync(path + ext, aside + ext);
        this.onWarning?.(`L3 cache file ${path} was damaged (${code}); moved to ${aside} and started empty`, { path, aside });
        try {
          return this.openOnce(path);
        } catch (again) {
          err = again;
        }
      }
      throw new CacheError('CACHE_L3_UNAVAILABLE', `cannot open the L3 cache file ${path}: ${(err as Error).message}`, { path }, { cause: err });
    }
  }

  private openOnce(path: string): Database.Database {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Another process may hold the write lock for a moment; a cache would rather miss than wait long.
      db.pragma('busy_timeout = 1000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        // Another layout (older or newer release): a cache can always start over.
        db.exec('DROP TABLE IF EXISTS cache_entries; DROP TABLE IF EXISTS cache_tags; DROP TABLE IF EXISTS cache_meta;');
      }
      db.exec(`
        CREATE TABLE IF NOT EXISTS cache_entries (
          key TEXT PRIMARY KEY,
          payload BLOB NOT NULL,
          expires_at INTEGER NOT NULL,
          size INTEGER NOT NULL,
          accessed_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS cache_entries_accessed ON cache_entries (accessed_at);
        CREATE INDEX IF NOT EXISTS cache_entries_expires ON cache_entries (expires_at);
        CREATE TABLE IF NOT EXISTS cache_tags (tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS cache_tags_key ON cache_tags (key);
        CREATE TRIGGER IF NOT EXISTS cache_entries_untag AFTER DELETE ON cache_entries BEGIN DELETE FROM cache_tags WHERE key = old.key; END;
        CREATE TABLE IF NOT EXISTS cache_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
      `);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      // Touch the file so damage shows now rather than on the first read.
      db.prepare('SELECT COUNT(*) FROM cache_entries').get();
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  // ---- reads ---------------------------------------------------------------------------------------

  getSync(key: string): Buffer | undefined {
    if (this.closed) return undefined;
    if (this.pending.has(key)) {
      const p = this.pending.get(key);
      return p === null || p === undefined || p.expiresAt <= Date.now() ? undefined : p.payload;
    }
    const row = this.safely('get', () => this.st.get.get(key, Date.now()));
    if (row === undefined) return undefined;
    if (this.touched.size < 10_000) {
      this.touched.add(key);
      this.schedule();
    }
    return row.payload;
  }

  get(key: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.getSync(key));
  }

  getManySync(keys: readonly string[]): Array<Buffer | undefined> {
    const out = new Array<Buffer | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = this.getSync(keys[i]!);
    return out;
  }

  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    return Promise.resolve(this.getManySync(keys));
  }

  // ---- writes (write-behind) -----------------------------------------------------------------------

  setSync(key: string, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): void {
    if (this.closed) return;
    if (payload.length > this.maxBytes) {
      this.queue(key, null); // never keep an older copy of a value that no longer fits
      return;
    }
    this.queue(key, { payload, expiresAt: ttlMs === Infinity ? NEVER : Date.now() + ttlMs, tags });
  }

  set(key: string, payload: Buffer, ttlMs: number, tags: readonly string[] | undefined): Promise<void> {
    this.setSync(key, payload, ttlMs, tags);
    return Promise.resolve();
  }

  setMany(entries: readonly LayerEntry[]): Promise<void> {
    for (const e of entries) this.setSync(e.key, e.payload, e.ttlMs, e.tags);
    return Promise.resolve();
  }

  deleteSync(keys: readonly string[]): void {
    if (this.closed) return;
    for (const k of keys) this.queue(k, null);
  }

  delete(keys: readonly string[]): Promise<void> {
    this.deleteSync(keys);
    return Promise.resolve();
  }

  deleteByTagsSync(tags: readonly string[]): void {
    if (this.closed) return;
    this.flush();
    this.safely('deleteByTags', () =>
      this.db.transaction(() => {
        for (const tag of tags) for (const { key } of this.st.keysByTag.all(tag)) this.deleteRow(key);
      })(),
    );
  }

  deleteByTags(tags: readonly string[]): Promise<void> {
    this.deleteByTagsSync(tags);
    return Promise.resolve();
  }

  clearSync(prefix: string): void {
    if (this.closed) return;
    this.flush();
    this.safely('clear', () => {
      if (prefix === '') this.db.exec('DELETE FROM cache_entries; DELETE FROM cache_tags;');
      else this.db.prepare('DELETE FROM cache_entries WHERE key >= ? AND substr(key, 1, ?) = ?').run(prefix, prefix.length, prefix);
      this.resyncTotals();
    });
  }

  clear(prefix: string): Promise<void> {
    this.clearSync(prefix);
    return Promise.resolve();
  }

  scan(prefix: string, pattern: string, max: number): Promise<string[]> {
    this.flush();
    const glob = compileGlob(pattern);
    const found: string[] = [];
    const now = Date.now();
    this.safely('scan', () => {
      const stmt = this.db.prepare('SELECT key, expires_at AS e FROM cache_entries WHERE key >= ? AND key < ?');
      for (const row of stmt.iterate(prefix, prefix + '\u{10ffff}') as Iterable<{ key: string; e: number }>) {
        if (found.length >= max) break;
        if (row.e > now && row.key.startsWith(prefix) && glob.match(row.key.slice(prefix.length)) !== undefined) found.push(row.key);
      }
    });
    return Promise.resolve(found);
  }

  readMeta(name: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.safely('readMeta', () => this.st.metaGet.get(name)?.value));
  }

  writeMeta(name: string, value: Buffer): Promise<void> {
    this.safely('writeMeta', () => this.st.metaSet.run(name, value));
    return Promise.resolve();
  }

  private queue(key: string, value: Pending): void {
    this.pending.delete(key); // re-insert so the queue keeps write order per key
    this.pending.set(key, value);
    if (this.pending.size >= this.maxPending) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Commits every queued write and access time in one transaction, then enforces the bounds. */
  flush(): void {
    if (this.closed || (this.pending.size === 0 && this.touched.size === 0)) return;
    this.safely('flush', () => this.commit());
    this.pending.clear();
    this.touched.clear();
    if (this.bytes > this.maxBytes || this.items > this.maxItems) this.safely('evict', () => this.evict());
  }

  private applyPending(): void {
    for (const [key, p] of this.pending) {
      if (p === null) {
        this.deleteRow(key);
        continue;
      }
      const old = this.st.size.get(key);
      if (old !== undefined) {
        this.bytes -= old.size;
        this.items--;
        this.st.delTags.run(key);
      }
      this.st.upsert.run(key, p.payload, p.expiresAt, p.payload.length, ++this.seq);
      this.bytes += p.payload.length;
      this.items++;
      if (p.tags !== undefined) for (const tag of p.tags) this.st.addTag.run(tag, key);
    }
    for (const key of this.touched) if (!this.pending.has(key)) this.st.touch.run(++this.seq, key);
  }

  private deleteRow(key: string): void {
    const old = this.st.size.get(key);
    if (old === undefined) return;
    this.st.del.run(key);
    this.bytes -= old.size;
    this.items--;
  }

  private evict(): void {
    const targetBytes = Math.floor(this.maxBytes * 0.9);
    const targetItems = Math.floor(this.maxItems * 0.9);
    this.db.transaction(() => {
      const over = (): boolean => this.bytes > targetBytes || this.items > targetItems;
      for (const row of this.st.expired.all(Date.now(), 10_000)) {
        if (!over()) break;
        this.deleteRow(row.key);
        this.evictions++;
      }
      while (over()) {
        const batch = this.st.oldest.all(500);
        if (batch.length === 0) break;
        for (const row of batch) {
          if (!over()) break;
          this.deleteRow(row.key);
          this.evictions++;
        }
      }
    })();
  }

  /** Drops expired rows (at most 10,000 a run) and re-reads the totals, which other processes may move. */
  purge(): void {
    if (this.closed) return;
    this.flush();
    this.db.transaction(() => {
      for (const row of this.st.expired.all(Date.now(), 10_000)) this.deleteRow(row.key);
    })();
    this.resyncTotals();
  }

  private resyncTotals(): void {
    const t = this.st.totals.get()!;
    this.items = t.n;
    this.bytes = t.b;
  }

  private safely<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      // A disk cache that fails (disk full, lock held too long) degrades to misses, never to caller errors.
      this.errors++;
      if (this.errors <= 10 || this.errors % 1000 === 0) this.onWarning?.(`L3 cache ${what} failed: ${(err as Error).message}`, { path: this.path, errors: this.errors });
      return undefined;
    }
  }

  stats(): DiskLayerStats {
    return { items: this.items, bytes: this.bytes, maxItems: this.maxItems, maxBytes: this.maxBytes, evictions: this.evictions, pending: this.pending.size, errors: this.errors };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    clearInterval(this.purgeTimer);
    this.db.close();
    return Promise.resolve();
  }
}
