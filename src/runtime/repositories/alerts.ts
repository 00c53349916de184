import type { AlertEvent, AlertEventState, Severity } from '../../platform/metrics/alerts.js';
import type { AlertHistory } from '../../platform/metrics/monitor.js';
import type { Migration, SqlExecutor } from '../../platform/store/types.js';

export const migrations: Migration[] = [
  {
    id: 'alerts/001-events',
    up: `CREATE TABLE alert_events (
        id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,
        kpi TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        value DOUBLE PRECISION,
        threshold DOUBLE PRECISION,
        comparison TEXT,
        at BIGINT NOT NULL,
        active_since BIGINT NOT NULL,
        message TEXT NOT NULL
      );
      CREATE INDEX alert_events_at ON alert_events (at);
      CREATE INDEX alert_events_rule_at ON alert_events (rule, at)`,
  },
];

const COLUMNS = 'id, alert_id, rule, kind, kpi, severity, state, value, threshold, comparison, at, active_since, message';

export async function insertAlertEvent(db: SqlExecutor, e: AlertEvent): Promise<void> {
  await db.run(`INSERT INTO alert_events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    e.id,
    e.alertId,
    e.rule,
    e.kind,
    e.kpi,
    e.severity,
    e.state,
    e.value,
    e.threshold,
    e.comparison,
    e.at,
    e.activeSince,
    e.message.slice(0, 2000),
  ]);
}

export interface AlertEventQuery {
  /** Newest first; at most this many (1..1000). */
  limit?: number;
  rule?: string;
  state?: AlertEventState;
  /** Only events at or after this epoch ms. */
  since?: number;
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export async function listAlertEvents(db: SqlExecutor, q: AlertEventQuery = {}): Promise<AlertEvent[]> {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (q.rule) {
    where.push('rule = ?');
    params.push(q.rule);
  }
  if (q.state) {
    where.push('state = ?');
    params.push(q.state);
  }
  if (q.since !== undefined) {
    where.push('at >= ?');
    params.push(q.since);
  }
  params.push(Math.min(1000, Math.max(1, q.limit ?? 100)));
  const rows = await db.query(`SELECT ${COLUMNS} FROM alert_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`, params);
  return rows.map((r) => ({
    id: String(r.id),
    alertId: String(r.alert_id),
    rule: String(r.rule),
    kind: r.kind === 'anomaly' ? 'anomaly' : 'threshold',
    kpi: String(r.kpi),
    severity: String(r.severity) as Severity,
    state: String(r.state) as AlertEventState,
    value: num(r.value),
    threshold: num(r.threshold),
    comparison: (r.comparison ?? null) as AlertEvent['comparison'],
    at: Number(r.at),
    activeSince: Number(r.active_since),
    message: String(r.message),
  }));
}

/** Deletes all but the newest `keep` events; returns how many went. */
export async function pruneAlertEvents(db: SqlExecutor, keep: number): Promise<number> {
  const [row] = await db.query<{ at: number | string | null }>('SELECT at FROM alert_events ORDER BY at DESC LIMIT 1 OFFSET ?', [keep]);
  if (!row || row.at === null) return 0;
  const { changes } = await db.run('DELETE FROM alert_events WHERE at <= ?', [Number(row.at)]);
  return changes;
}

/** The monitor's history sink on a store, pruning every `pruneEvery` writes. */
export function storeAlertHistory(db: SqlExecutor, opts: { keep: number; pruneEvery?: number }): AlertHistory {
  let writes = 0;
  const every = opts.pruneEvery ?? 500;
  return {
    async append(e) {
      await insertAlertEvent(db, e);
      if (++writes % every === 0) await pruneAlertEvents(db, opts.keep);
    },
  };
}
