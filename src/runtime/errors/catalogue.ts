/**
 * The one catalogue of error codes: each code's HTTP status, CLI exit code and meaning.
 * A test keeps it in sync with the codes thrown in src/ and with docs/errors.md (`npm run docs`).
 * Never reuse a retired code: mark it `retired: true` instead of deleting it.
 */
export interface ErrorEntry {
  /** HTTP status of the problem+json response. */
  status: number;
  /** CLI exit code: 1 a check failed or the engine could not do it, 2 bad usage or input. */
  exit: 1 | 2;
  description: string;
  retired?: boolean;
}

export const errorCatalogue = {
  // engine and runtime
  ENGINE_INTERNAL: { status: 500, exit: 1, description: 'An unexpected failure inside the engine; the log has the details.' },
  USAGE_INVALID: { status: 400, exit: 2, description: 'A command-line option or argument is wrong.' },
  REQUEST_INVALID: { status: 400, exit: 2, description: 'The request body, query or parameters do not match the route schema.' },
  REQUEST_TOO_LARGE: { status: 413, exit: 2, description: 'The request body is larger than server.bodyLimit.' },
  NOT_FOUND: { status: 404, exit: 2, description: 'No such route or resource.' },
  AUTH_REQUIRED: { status: 401, exit: 2, description: 'The server has an API token and the request did not carry it as `Authorization: Bearer …`.' },
  AUTH_INVALID: { status: 403, exit: 2, description: 'The bearer token does not match the server token.' },
  SERVER_TOKEN_REQUIRED: { status: 500, exit: 2, description: 'Binding a non-loopback address needs CODE_API_TOKEN in the environment.' },
  SERVER_OVERLOADED: { status: 503, exit: 1, description: 'The server is shedding load; retry after the Retry-After delay.' },
  // config and flags
  CONFIG_INVALID: { status: 400, exit: 2, description: 'The configuration has bad keys or values; the message lists each with its path and reason.' },
  CONFIG_NOT_FOUND: { status: 404, exit: 2, description: 'The config file named by --config or CODE_CONFIG does not exist.' },
  CONFIG_UNREADABLE: { status: 400, exit: 2, description: 'The config file cannot be read or parsed (syntax error, too large, too deep).' },
  CONFIG_VERSION_NOT_FOUND: { status: 404, exit: 2, description: 'No config version with that number.' },
  FLAG_UNKNOWN: { status: 404, exit: 2, description: 'No feature flag with that name is registered.' },
  // store
  STORE_UNAVAILABLE: { status: 503, exit: 1, description: 'The database cannot be opened or reached.' },
  STORE_QUERY_FAILED: { status: 500, exit: 1, description: 'A database statement failed.' },
  STORE_MIGRATION_FAILED: { status: 500, exit: 1, description: 'A schema migration failed; nothing of it was applied.' },
  STORE_POOL_EXHAUSTED: { status: 503, exit: 1, description: 'Every database connection is busy and the wait queue is full.' },
  STORE_CLOSED: { status: 503, exit: 1, description: 'The store was used after it was closed (shutting down).' },
  STORE_TIMEOUT: { status: 504, exit: 1, description: 'A database statement ran longer than store.statementTimeoutMs and was cancelled.' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCodeName = keyof typeof errorCatalogue;

const FALLBACK: ErrorEntry = errorCatalogue.ENGINE_INTERNAL;

/** The catalogue entry for a code; unknown codes are internal errors (and a test catches them). */
export function errorEntry(code: string): ErrorEntry {
  return (errorCatalogue as Record<string, ErrorEntry>)[code] ?? FALLBACK;
}
