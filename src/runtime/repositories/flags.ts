import type { Migration, SqlExecutor } from '../../platform/store/types.js';

export const migrations: Migration[] = [
  {
    id: 'flags/001-state-and-audit',
    up: {
      sqlite: `CREATE TABLE flag_state (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, updated_at BIGINT NOT NULL);
        CREATE TABLE flag_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at BIGINT NOT NULL, name TEXT NOT NULL, old_value INTEGER NOT NULL, new_value INTEGER NOT NULL, actor TEXT NOT NULL)`,
      postgres: `CREATE TABLE flag_state (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, updated_at BIGINT NOT NULL);
        CREATE TABLE flag_audit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, name TEXT NOT NULL, old_value INTEGER NOT NULL, new_value INTEGER NOT NULL, actor TEXT NOT NULL)`,
    },
  },
];

export interface FlagAuditEntry {
  id: number;
  at: number;
  name: string;
  old: boolean;
  new: boolean;
  /** `cli`, `api:token:1a2b3c4d` (a hash prefix, never the token), `api:loopback`. */
  actor: string;
}

export async function loadFlagState(db: SqlExecutor): Promise<Map<string, boolean>> {
  const rows = await db.query<{ name: string; enabled: number }>('SELECT name, enabled FROM flag_state');
  return new Map(rows.map((r) => [r.name, Number(r.enabled) === 1]));
}

/** Writes the new state and its audit line in one transaction. */
export async function saveFlagChange(db: SqlExecutor, change: Omit<FlagAuditEntry, 'id'>): Promise<void> {
  const upsert = 'INSERT INTO flag_state (name, enabled, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at';
  await db.run(upsert, [change.name, change.new ? 1 : 0, change.at]);
  await db.run('INSERT INTO flag_audit (at, name, old_value, new_value, actor) VALUES (?, ?, ?, ?, ?)', [change.at, change.name, change.old ? 1 : 0, change.new ? 1 : 0, change.actor]);
}

export async function flagAudit(db: SqlExecutor, opts: { name?: string; limit?: number } = {}): Promise<FlagAuditEntry[]> {
  const limit = opts.limit ?? 100;
  const rows = opts.name
    ? await db.query('SELECT * FROM flag_audit WHERE name = ? ORDER BY id DESC LIMIT ?', [opts.name, limit])
    : await db.query('SELECT * FROM flag_audit ORDER BY id DESC LIMIT ?', [limit]);
  return rows.map((r) => ({ id: Number(r.id), at: Number(r.at), name: String(r.name), old: Number(r.old_value) === 1, new: Number(r.new_value) === 1, actor: String(r.actor) }));
}

/** A cheap change marker other processes poll to pick up flag changes made elsewhere. */
export async function lastFlagAuditId(db: SqlExecutor): Promise<number> {
  const [row] = await db.query<{ n: number | null }>('SELECT MAX(id) AS n FROM flag_audit');
  return Number(row?.n ?? 0);
}
