import { StoreError } from './errors.js';
import type { SqlValue } from './types.js';

/** Longest SQL text the adapters accept (a runaway string builder, not a real statement). */
export const MAX_SQL_LENGTH = 1_000_000;
/** PostgreSQL's limit on bind parameters per statement (a 16-bit count in the protocol). */
export const PG_MAX_PARAMS = 65_535;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Throws unless `name` is a plain identifier (or `schema.table`): insertMany splices names into SQL. */
export function checkIdentifier(name: string, what: 'table' | 'column' | 'schema'): string {
  const parts = what === 'table' ? name.split('.') : [name];
  if (typeof name !== 'string' || parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new StoreError('STORE_QUERY_FAILED', `invalid ${what} name ${JSON.stringify(name)}: use letters, digits and _ (at most 63), not starting with a digit`, { [what]: String(name) });
  }
  return name;
}

export function checkColumns(columns: readonly string[]): void {
  if (!Array.isArray(columns) || columns.length === 0) throw new StoreError('STORE_QUERY_FAILED', 'insertMany needs at least one column', {});
  if (columns.length > 1000) throw new StoreError('STORE_QUERY_FAILED', `insertMany takes at most 1000 columns, got ${columns.length}`, { columns: columns.length });
  for (const c of columns) checkIdentifier(c, 'column');
}

export function checkSql(sql: string): void {
  if (typeof sql !== 'string' || sql.length === 0) throw new StoreError('STORE_QUERY_FAILED', 'empty SQL statement', {});
  if (sql.length > MAX_SQL_LENGTH) throw new StoreError('STORE_QUERY_FAILED', `SQL statement of ${sql.length} characters exceeds ${MAX_SQL_LENGTH}`, { length: sql.length });
}

const placeholderCache = new Map<string, { text: string; count: number }>();
const PLACEHOLDER_CACHE_MAX = 1000;

/**
 * Rewrites `?` placeholders to PostgreSQL's `$1, $2, ...`, leaving `?` alone inside string literals,
 * quoted identifiers, dollar-quoted bodies and comments. Results are memoised (repositories reuse a
 * handful of statements).
 *
 *   toPgPlaceholders("SELECT * FROM t WHERE a = ? AND b = '?'") // { text: "... a = $1 AND b = '?'", count: 1 }
 */
export function toPgPlaceholders(sql: string): { text: string; count: number } {
  const hit = placeholderCache.get(sql);
  if (hit) return hit;
  let out = '';
  let n = 0;
  let i = 0;
  let last = 0;
  const len = sql.length;
  while (i < len) {
    const c = sql.charCodeAt(i);
    if (c === 63 /* ? */) {
      out += sql.slice(last, i) + '$' + ++n;
      last = ++i;
    } else if (c === 39 /* ' */ || c === 34 /* " */) {
      // '...' and "..." with doubled quotes as escapes; E'..\'..' escapes with a backslash.
      const escaped = c === 39 && i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
      i++;
      while (i < len) {
        const d = sql.charCodeAt(i);
        if (escaped && d === 92 /* \ */) i += 2;
        else if (d === c) {
          if (sql.charCodeAt(i + 1) === c) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? len : end + 1;
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? len : end + 2;
    } else if (c === 36 /* $ */) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (m && !(i > 0 && /[A-Za-z0-9_]/.test(sql[i - 1]!))) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? len : end + m[0].length;
      } else i++;
    } else i++;
  }
  const result = { text: n === 0 ? sql : out + sql.slice(last), count: n };
  if (placeholderCache.size >= PLACEHOLDER_CACHE_MAX) placeholderCache.clear();
  placeholderCache.set(sql, result);
  return result;
}

/** A value as pg should send it: booleans as 1/0 (the portable schema has no BOOLEAN), bigints as text. */
export function pgParam(v: SqlValue): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function pgParams(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = pgParam(params[i]!);
  return out;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field in COPY text format: `\N` for NULL, backslash escapes, bytea as `\\x` hex. */
export function copyField(v: SqlValue): string {
  if (v === null || v === undefined) return '\\N';
  switch (typeof v) {
    case 'string':
      if (v.includes('\0')) throw new StoreError('STORE_QUERY_FAILED', 'PostgreSQL text cannot hold a NUL character', {});
      return COPY_SPECIAL.test(v) ? v.replace(/[\\\n\r\t]/g, (ch) => COPY_ESCAPES[ch]!) : v;
    case 'number':
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? '1' : '0';
    default:
      if (v instanceof Uint8Array) return '\\\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
      throw new StoreError('STORE_QUERY_FAILED', `cannot store a value of type ${typeof v}`, {});
  }
}

/** Rows as one COPY text-format payload. */
export function copyText(rows: readonly (readonly SqlValue[])[], width: number): string {
  const lines = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== width) throw rowWidthError(r, row.length, width);
    let line = copyField(row[0]!);
    for (let c = 1; c < width; c++) line += '\t' + copyField(row[c]!);
    lines[r] = line;
  }
  return lines.join('\n') + '\n';
}

export function rowWidthError(index: number, got: number, want: number): StoreError {
  return new StoreError('STORE_QUERY_FAILED', `insertMany row ${index} has ${got} values for ${want} columns`, { row: index, values: got, columns: want });
}

/** `(?, ?), (?, ?)` style VALUES list with `$n` numbering for `rows` rows of `width` columns. */
const valuesLists = new Map<number, string>();

export function pgValuesList(rows: number, width: number): string {
  // Bulk writers repeat the same shape chunk after chunk.
  const key = rows * 65_536 + width;
  const hit = valuesLists.get(key);
  if (hit !== undefined) return hit;
  const list = buildValuesList(rows, width);
  if (valuesLists.size >= 32) valuesLists.clear();
  valuesLists.set(key, list);
  return list;
}

function buildValuesList(rows: number, width: number): string {
  const groups = new Array<string>(rows);
  let n = 1;
  for (let r = 0; r < rows; r++) {
    const cols = new Array<string>(width);
    for (let c = 0; c < width; c++) cols[c] = '$' + n++;
    groups[r] = '(' + cols.join(', ') + ')';
  }
  return groups.join(', ');
}

/**
 * What kind of constraint a failed statement hit, the same word on both adapters so a repository
 * can tell a duplicate from a real failure: `details.constraint === 'unique'`.
 */
export type ConstraintKind = 'unique' | 'foreign-key' | 'not-null' | 'check';

export function sqliteConstraint(code: string | undefined): ConstraintKind | undefined {
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return 'unique';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return 'foreign-key';
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return 'not-null';
    case 'SQLITE_CONSTRAINT_CHECK':
      return 'check';
    default:
      return undefined;
  }
}

export function pgConstraint(sqlstate: string | undefined): ConstraintKind | undefined {
  switch (sqlstate) {
    case '23505':
      return 'unique';
    case '23503':
      return 'foreign-key';
    case '23502':
      return 'not-null';
    case '23514':
      return 'check';
    default:
      return undefined;
  }
}
