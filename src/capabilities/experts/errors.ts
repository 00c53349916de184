import { CodeError, isCodeError } from '../../platform/errors.js';

export type ExpertsErrorCode =
  | 'EXPERTS_INVALID_REQUEST'
  | 'EXPERTS_UNKNOWN_EXPERT'
  | 'EXPERTS_NO_EXPERTS'
  | 'EXPERTS_CANCELLED'
  | 'EXPERTS_BUSY'
  | 'EXPERTS_NOT_FOUND'
  | 'EXPERTS_CONFIG_INVALID'
  | 'EXPERTS_PROVIDER_NO_KEY'
  | 'EXPERTS_PROVIDER_HTTP'
  | 'EXPERTS_PROVIDER_RATE_LIMITED'
  | 'EXPERTS_PROVIDER_NETWORK'
  | 'EXPERTS_PROVIDER_STREAM_CUT'
  | 'EXPERTS_PROVIDER_BAD_RESPONSE'
  | 'EXPERTS_PROVIDER_TOO_LARGE'
  | 'EXPERTS_ANSWER_INVALID'
  | 'EXPERTS_INTERNAL';

/** Every failure of the experts capability: a stable code plus plain context (never a key). */
export class ExpertsError extends CodeError<ExpertsErrorCode> {}

/**
 * True for provider failures worth another try by a retry policy: rate limits, 5xx, network errors,
 * a stream cut midway. A malformed body or answer is not: the expert retries that once itself.
 */
export function isRetryableProviderError(err: unknown): boolean {
  if (!isCodeError(err)) return false;
  return err.details?.retryable === true;
}

/** A one-line reason for a failure, with its code when it has one. */
export function describeError(err: unknown): { reason: string; code?: string } {
  if (isCodeError(err)) return { reason: err.message, code: err.code };
  if (err instanceof Error) return { reason: err.message || err.name };
  return { reason: String(err) };
}
