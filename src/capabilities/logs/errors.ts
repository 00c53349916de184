import { CodeError } from '../../platform/errors.js';

export type LogsErrorCode =
  | 'LOGS_INPUT_INVALID'
  | 'LOGS_FILE_NOT_FOUND'
  | 'LOGS_NOT_A_FILE'
  | 'LOGS_NO_MATCH'
  | 'LOGS_TOO_MANY_FILES'
  | 'LOGS_PATH_DENIED'
  | 'LOGS_READ_FAILED'
  | 'LOGS_ABORTED';

/** Every failure of the log analyzer; `details` names the path, pattern or option at fault. */
export class LogsError extends CodeError<LogsErrorCode> {}
