import type { Dialect, Migration, SqlExecutor } from './types.js';

/** The SQL of a migration for one dialect. */
export function migrationSql(m: Migration, dialect: Dialect): string {
  return typeof m.up === 'string' ? m.up : m.up[dialect];
}

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`;

/** Ids already applied. */
export async function appliedMigrations(db: SqlExecutor): Promise<Set<string>> {
  const rows = await db.query<{ id: string }>('SELECT id FROM schema_migrations');
  return new Set(rows.map((r) => r.id));
}

/** Splits a migration script into statements (no semicolons inside literals in our migrations). */
export function statements(sql: string): string[] {
  return sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean);
}
