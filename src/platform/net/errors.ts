import { CodeError } from '../errors.js';

export type NetErrorCode =
  | 'NET_URL_INVALID'
  | 'NET_REQUEST_INVALID'
  | 'NET_OPTIONS_INVALID'
  | 'NET_CONNECT_FAILED'
  | 'NET_CONNECT_TIMEOUT'
  | 'NET_HEADERS_TIMEOUT'
  | 'NET_BODY_TIMEOUT'
  | 'NET_TIMEOUT'
  | 'NET_HTTP_STATUS'
  | 'NET_RESPONSE_TOO_LARGE'
  | 'NET_DECOMPRESSION_FAILED'
  | 'NET_ABORTED'
  | 'NET_CLOSED'
  | 'NET_BATCH_ITEM_TIMEOUT'
  | 'NET_BATCH_CANCELLED';

/**
 * Every failure of the HTTP client and of batch, with a stable code. `details` carries the origin
 * (never the full URL: query strings may hold secrets), the method, and for NET_HTTP_STATUS the
 * status and `retryAfterMs`. The undici error, when there is one, is the `cause`.
 */
export class NetError extends CodeError<NetErrorCode> {}

export function isNetError(err: unknown, code?: NetErrorCode): err is NetError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('NET_') &&
    (code === undefined || (err as { code: string }).code === code)
  );
}
