import type { Migration, Store, SqlExecutor } from '../../platform/store/types.js';

export const migrations: Migration[] = [
  {
    id: 'config/001-versions',
    up: `CREATE TABLE config_versions (
      version INTEGER PRIMARY KEY,
      created_at BIGINT NOT NULL,
      source TEXT NOT NULL,
      config TEXT NOT NULL,
      input_hash TEXT NOT NULL,
      diff TEXT NOT NULL
    )`,
  },
];

/** One change of one key between two versions. */
export interface ConfigChange {
  path: string;
  old: unknown;
  new: unknown;
}

export interface ConfigVersion {
  version: number;
  createdAt: number;
  /** What produced it: `file codectl.yaml + env CODE_SERVER_PORT`, `rollback to 3`. */
  source: string;
  config: Record<string, unknown>;
  /** Hash of what the file and environment said when it was recorded (see versions.ts). */
  inputHash: string;
  /** Changes from the previous version. */
  diff: ConfigChange[];
}

interface Row {
  version: number;
  created_at: number;
  source: string;
  config: string;
  input_hash: string;
  diff: string;
  [k: string]: unknown;
}

const toVersion = (r: Row): ConfigVersion => ({
  version: Number(r.version),
  createdAt: Number(r.created_at),
  source: r.source,
  config: JSON.parse(r.config) as Record<string, unknown>,
  inputHash: r.input_hash,
  diff: JSON.parse(r.diff) as ConfigChange[],
});

export async function latestConfigVersion(db: SqlExecutor): Promise<ConfigVersion | undefined> {
  const rows = await db.query<Row>('SELECT * FROM config_versions ORDER BY version DESC LIMIT 1');
  return rows[0] ? toVersion(rows[0]) : undefined;
}

export async function getConfigVersion(db: SqlExecutor, version: number): Promise<ConfigVersion | undefined> {
  const rows = await db.query<Row>('SELECT * FROM config_versions WHERE version = ?', [version]);
  return rows[0] ? toVersion(rows[0]) : undefined;
}

/** Newest first. */
export async function listConfigVersions(db: SqlExecutor, limit = 100): Promise<ConfigVersion[]> {
  const rows = await db.query<Row>('SELECT * FROM config_versions ORDER BY version DESC LIMIT ?', [limit]);
  return rows.map(toVersion);
}

/** Appends a version numbered one past the latest, atomically. */
export async function appendConfigVersion(store: Store, v: Omit<ConfigVersion, 'version'>): Promise<ConfigVersion> {
  return store.transaction(async (tx) => {
    // MAX+1 is racy between PostgreSQL sessions; the lock serialises appenders (SQLite's BEGIN IMMEDIATE already does).
    if (tx.dialect === 'postgres') await tx.run('LOCK TABLE config_versions IN SHARE ROW EXCLUSIVE MODE');
    const [row] = await tx.query<{ n: number | null }>('SELECT MAX(version) AS n FROM config_versions');
    const version = Number(row?.n ?? 0) + 1;
    await tx.run('INSERT INTO config_versions (version, created_at, source, config, input_hash, diff) VALUES (?, ?, ?, ?, ?, ?)', [
      version,
      v.createdAt,
      v.source,
      JSON.stringify(v.config),
      v.inputHash,
      JSON.stringify(v.diff),
    ]);
    return { ...v, version };
  });
}
