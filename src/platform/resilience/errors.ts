import { CodeError } from '../errors.js';

export type ResilienceErrorCode =
  | 'RESILIENCE_BREAKER_OPEN'
  | 'RESILIENCE_TIMEOUT'
  | 'RESILIENCE_BULKHEAD_FULL'
  | 'RESILIENCE_BULKHEAD_WAIT'
  | 'RESILIENCE_LIMIT_EXCEEDED'
  | 'RESILIENCE_OPTIONS_INVALID'
  | 'RESILIENCE_STATE_INVALID';

/**
 * Raised by the resilience policies themselves (never wraps the operation's own errors, which pass
 * through unchanged). `details` names the policy and the limit that refused the call.
 */
export class ResilienceError extends CodeError<ResilienceErrorCode> {}

export function isResilienceError(err: unknown, code?: ResilienceErrorCode): err is ResilienceError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('RESILIENCE_') &&
    (code === undefined || (err as { code: string }).code === code)
  );
}

/** Validates one numeric option; bad configuration is a clear error naming the option, never NaN behaviour. */
export function checkNumber(policy: string, key: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER, integer = true): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max || (integer && !Number.isInteger(value) && value !== Infinity)) {
    throw new ResilienceError('RESILIENCE_OPTIONS_INVALID', `${policy}: option ${key} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${String(value)}`, {
      policy,
      key,
      value: String(value),
      min,
      max,
    });
  }
  return value;
}
