import { CodeError } from '../../platform/errors.js';

export type CheckErrorCode =
  /** No stored check with that id. */
  'CHECK_NOT_FOUND';

export class CheckError extends CodeError<CheckErrorCode> {}
