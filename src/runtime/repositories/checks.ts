import type { CheckHistory, CheckReport } from '../../capabilities/check/index.js';
import { listNewestFirst, type HistoryQuery } from './history.js';
import type { Migration, SqlExecutor } from '../../platform/store/types.js';

/** Check history: one row per check, the whole JSON report in `report`, the figures in columns for listing. */
export const migrations: Migration[] = [
  {
    id: 'checks/001-history',
    up: `CREATE TABLE checks (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        file TEXT NOT NULL,
        ok INTEGER NOT NULL,
        valid INTEGER NOT NULL,
        services INTEGER NOT NULL,
        up INTEGER NOT NULL,
        down INTEGER NOT NULL,
        degraded INTEGER NOT NULL,
        unknown INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        report TEXT NOT NULL
      );
      CREATE INDEX checks_created_at ON checks (created_at)`,
  },
];

/** File names longer than this are cut in their column (the report keeps them whole). */
const FILE_COLUMN_CHARS = 500;

export async function saveCheck(db: SqlExecutor, r: CheckReport): Promise<void> {
  const s = r.summary;
  await db.run(
    `INSERT INTO checks (id, created_at, file, ok, valid, services, up, down, degraded, unknown, errors, warnings, duration_ms, report)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.id, r.startedAt, r.file.slice(0, FILE_COLUMN_CHARS), r.ok ? 1 : 0, r.valid ? 1 : 0, s.services, s.up, s.down, s.degraded, s.unknown, s.errors, s.warnings, r.durationMs, JSON.stringify(r)],
  );
}

export async function getCheck(db: SqlExecutor, id: string): Promise<CheckReport | undefined> {
  const rows = await db.query<{ report: string }>('SELECT report FROM checks WHERE id = ?', [id]);
  const row = rows[0];
  return row ? (JSON.parse(row.report) as CheckReport) : undefined;
}

export interface CheckSummary {
  id: string;
  createdAt: number;
  file: string;
  ok: boolean;
  valid: boolean;
  services: number;
  up: number;
  down: number;
  degraded: number;
  unknown: number;
  errors: number;
  warnings: number;
  durationMs: number;
}

/** Newest first; at most `limit` (1..1000); `since` in epoch ms. */
export async function listChecks(db: SqlExecutor, q: HistoryQuery = {}): Promise<CheckSummary[]> {
  const rows = await listNewestFirst(db, 'checks', 'id, created_at, file, ok, valid, services, up, down, degraded, unknown, errors, warnings, duration_ms', q);
  return rows.map((r) => ({
    id: String(r.id),
    createdAt: Number(r.created_at),
    file: String(r.file),
    ok: Number(r.ok) === 1,
    valid: Number(r.valid) === 1,
    services: Number(r.services),
    up: Number(r.up),
    down: Number(r.down),
    degraded: Number(r.degraded),
    unknown: Number(r.unknown),
    errors: Number(r.errors),
    warnings: Number(r.warnings),
    durationMs: Number(r.duration_ms),
  }));
}

/** The history the checker writes to. */
export function checkHistory(db: SqlExecutor): CheckHistory {
  return { save: (r) => saveCheck(db, r) };
}
