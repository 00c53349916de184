import type { ConsultationHistory, ConsultationResult } from '../../capabilities/experts/index.js';
import { listNewestFirst, type HistoryQuery } from './history.js';
import type { Migration, SqlExecutor } from '../../platform/store/types.js';

/** Consultation history: one row per consultation, the whole JSON result in `result`. */
export const migrations: Migration[] = [
  {
    id: 'consultations/001-history',
    up: `CREATE TABLE consultations (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT,
        agreement DOUBLE PRECISION NOT NULL,
        degraded INTEGER NOT NULL,
        requested INTEGER NOT NULL,
        responded INTEGER NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        hash TEXT NOT NULL,
        cached INTEGER NOT NULL,
        result TEXT NOT NULL
      );
      CREATE INDEX consultations_created_at ON consultations (created_at);
      CREATE INDEX consultations_hash ON consultations (hash)`,
  },
];

/** At most this many characters of question stored in its own column (the full text is in `result`). */
const QUESTION_COLUMN_CHARS = 500;

export async function saveConsultation(db: SqlExecutor, r: ConsultationResult): Promise<void> {
  await db.run(
    `INSERT INTO consultations (id, created_at, kind, question, answer, agreement, degraded, requested, responded, duration_ms, hash, cached, result)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.id, r.createdAt, r.kind, r.question.slice(0, QUESTION_COLUMN_CHARS), r.answer, r.agreement, r.degraded ? 1 : 0, r.requested, r.responded, r.durationMs, r.hash, r.cached ? 1 : 0, JSON.stringify(r)],
  );
}

export async function getConsultation(db: SqlExecutor, id: string): Promise<ConsultationResult | undefined> {
  const rows = await db.query<{ result: string }>('SELECT result FROM consultations WHERE id = ?', [id]);
  const row = rows[0];
  return row ? (JSON.parse(row.result) as ConsultationResult) : undefined;
}

export interface ConsultationSummary {
  id: string;
  createdAt: number;
  kind: string;
  question: string;
  answer: string | null;
  agreement: number;
  degraded: boolean;
  requested: number;
  responded: number;
  durationMs: number;
  cached: boolean;
}

/** Newest first; at most `limit` (1..1000). */
export async function listConsultations(db: SqlExecutor, q: HistoryQuery = {}): Promise<ConsultationSummary[]> {
  const rows = await listNewestFirst(db, 'consultations', 'id, created_at, kind, question, answer, agreement, degraded, requested, responded, duration_ms, cached', q);
  return rows.map((r) => ({
    id: String(r.id),
    createdAt: Number(r.created_at),
    kind: String(r.kind),
    question: String(r.question),
    answer: r.answer === null || r.answer === undefined ? null : String(r.answer),
    agreement: Number(r.agreement),
    degraded: Number(r.degraded) === 1,
    requested: Number(r.requested),
    responded: Number(r.responded),
    durationMs: Number(r.duration_ms),
    cached: Number(r.cached) === 1,
  }));
}

/** The history as the experts service wants it. */
export function consultationHistory(db: SqlExecutor): ConsultationHistory {
  return { save: (r) => saveConsultation(db, r), get: (id) => getConsultation(db, id) };
}
