import { CodeError } from '../../platform/errors.js';

/**
 * Errors of the spec capability. Problems *inside* a spec are findings, not errors; these codes are
 * for input that cannot be examined at all (unreadable, too large, unknown format).
 */
export type SpecErrorCode =
  /** The file cannot be read (missing, a directory, permission denied). */
  | 'SPEC_UNREADABLE'
  /** The input is larger than `limits.maxBytes`. */
  | 'SPEC_TOO_LARGE'
  /** The format cannot be determined or is not one of yaml, json, toml. */
  | 'SPEC_FORMAT_UNKNOWN'
  /** The spec has error findings and a caller asked for a valid one (`assertValid`). */
  | 'SPEC_INVALID';

export class SpecError extends CodeError<SpecErrorCode> {}
