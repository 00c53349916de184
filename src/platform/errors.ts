/**
 * The root of every error CODE raises on purpose. Each module declares one subclass with its own
 * union of stable codes (`SPEC_INVALID`, `CACHE_L2_UNAVAILABLE`, ...); the runtime maps codes to HTTP
 * status and CLI exit codes in one catalogue (src/runtime/errors/catalogue.ts).
 *
 * Check with `isCodeError(e)` rather than `instanceof`: two copies of this module (a linked package,
 * a worker) would make `instanceof` lie, the `Symbol.for` marker does not.
 */
const MARK = Symbol.for('code-engine.error');

export class CodeError<C extends string = string> extends Error {
  readonly [MARK] = true;
  readonly code: C;
  /** Plain, JSON-serialisable context: file, line, key, limit... Never secrets. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isCodeError(err: unknown): err is CodeError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[MARK] === true;
}

/** True when `err` is a CodeError carrying one of `codes`. */
export function hasCode<C extends string>(err: unknown, ...codes: C[]): err is CodeError<C> {
  return isCodeError(err) && (codes as string[]).includes(err.code);
}
