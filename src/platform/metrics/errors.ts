import { CodeError } from '../errors.js';

export type MetricsErrorCode =
  | 'METRICS_NAME_INVALID'
  | 'METRICS_LABEL_INVALID'
  | 'METRICS_CONFLICT'
  | 'METRICS_LIMIT'
  | 'METRICS_VALUE_INVALID'
  | 'METRICS_CLOSED'
  | 'ALERT_RULE_INVALID'
  | 'ALERT_WEBHOOK_FAILED';

/** Raised when an instrument is declared or used wrongly (bad name, label, conflicting re-declaration). */
export class MetricsError extends CodeError<MetricsErrorCode> {}
