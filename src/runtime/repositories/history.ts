import type { Row, SqlExecutor } from '../../platform/store/types.js';

/** A page of a history table: newest first, `limit` clamped to 1..1000 (default 100), `since` in epoch ms. */
export interface HistoryQuery {
  limit?: number;
  since?: number;
}

/** `SELECT columns FROM table [WHERE created_at >= since] ORDER BY created_at DESC, id DESC LIMIT n`. */
export function listNewestFirst(db: SqlExecutor, table: string, columns: string, q: HistoryQuery = {}): Promise<Row[]> {
  const params: number[] = [];
  let where = '';
  if (q.since !== undefined) {
    where = 'WHERE created_at >= ?';
    params.push(q.since);
  }
  params.push(Math.min(1000, Math.max(1, q.limit ?? 100)));
  return db.query(`SELECT ${columns} FROM ${table} ${where} ORDER BY created_at DESC, id DESC LIMIT ?`, params);
}
