import type { ProbeHistory, ProbeRecord, ProbeResult } from '../../capabilities/probe/index.js';
import { listNewestFirst, type HistoryQuery } from './history.js';
import type { Migration, SqlExecutor } from '../../platform/store/types.js';

/**
 * Probe history: one row per scan. A full scan has 65,535 results, almost all closed: the row keeps
 * the summary and the open and filtered results (at most MAX_STORED_RESULTS), closed ones are counted.
 */
export const migrations: Migration[] = [
  {
    id: 'probes/001-history',
    up: `CREATE TABLE probes (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        targets TEXT NOT NULL,
        addresses INTEGER NOT NULL,
        ports INTEGER NOT NULL,
        open INTEGER NOT NULL,
        closed INTEGER NOT NULL,
        filtered INTEGER NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        results TEXT NOT NULL
      );
      CREATE INDEX probes_created_at ON probes (created_at)`,
  },
];

export const MAX_STORED_RESULTS = 10_000;

export interface StoredProbe {
  id: string;
  createdAt: number;
  targets: string[];
  summary: ProbeRecord['summary'];
  /** Open and filtered results only. */
  results: ProbeResult[];
  /** True when more than MAX_STORED_RESULTS open/filtered results were cut. */
  truncated: boolean;
}

export async function saveProbe(db: SqlExecutor, r: ProbeRecord): Promise<void> {
  const kept = r.results.filter((x) => x.state !== 'closed');
  const stored = { results: kept.slice(0, MAX_STORED_RESULTS), truncated: kept.length > MAX_STORED_RESULTS, summary: r.summary };
  await db.run(
    `INSERT INTO probes (id, created_at, targets, addresses, ports, open, closed, filtered, duration_ms, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.id, r.createdAt, JSON.stringify(r.request.targets), r.summary.addresses, r.summary.ports, r.summary.open, r.summary.closed, r.summary.filtered, r.summary.durationMs, JSON.stringify(stored)],
  );
}

export async function getProbe(db: SqlExecutor, id: string): Promise<StoredProbe | undefined> {
  const rows = await db.query('SELECT id, created_at, targets, results FROM probes WHERE id = ?', [id]);
  const row = rows[0];
  if (!row) return undefined;
  const stored = JSON.parse(String(row.results)) as { results: ProbeResult[]; truncated: boolean; summary: ProbeRecord['summary'] };
  return { id: String(row.id), createdAt: Number(row.created_at), targets: JSON.parse(String(row.targets)) as string[], ...stored };
}

export interface ProbeListItem {
  id: string;
  createdAt: number;
  targets: string[];
  addresses: number;
  ports: number;
  open: number;
  closed: number;
  filtered: number;
  durationMs: number;
}

/** Newest first; at most `limit` (1..1000). */
export async function listProbes(db: SqlExecutor, q: HistoryQuery = {}): Promise<ProbeListItem[]> {
  const rows = await listNewestFirst(db, 'probes', 'id, created_at, targets, addresses, ports, open, closed, filtered, duration_ms', q);
  return rows.map((r) => ({
    id: String(r.id),
    createdAt: Number(r.created_at),
    targets: JSON.parse(String(r.targets)) as string[],
    addresses: Number(r.addresses),
    ports: Number(r.ports),
    open: Number(r.open),
    closed: Number(r.closed),
    filtered: Number(r.filtered),
    durationMs: Number(r.duration_ms),
  }));
}

export function probeHistory(db: SqlExecutor): ProbeHistory {
  return { save: (r) => saveProbe(db, r) };
}
