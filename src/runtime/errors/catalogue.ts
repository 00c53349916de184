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
  // metrics, KPIs and alerts
  METRICS_NAME_INVALID: { status: 500, exit: 1, description: 'A metric or KPI was declared with a bad name or help text (a bug in the part declaring it).' },
  METRICS_LABEL_INVALID: { status: 500, exit: 1, description: 'A metric was declared or used with an undeclared, reserved or repeated label name.' },
  METRICS_CONFLICT: { status: 500, exit: 1, description: 'A metric or KPI name is already registered differently (kind, labels, unit or exposed name).' },
  METRICS_LIMIT: { status: 500, exit: 1, description: 'The metrics registry, the KPI registry or the alert rule list is full.' },
  METRICS_VALUE_INVALID: { status: 500, exit: 1, description: 'A metric, KPI or monitor option is out of range (e.g. a counter decremented).' },
  METRICS_CLOSED: { status: 503, exit: 1, description: 'Alert notifications were stopped because the engine is shutting down.' },
  ALERT_RULE_INVALID: { status: 400, exit: 2, description: 'An alert rule or webhook is malformed; the message names the rule and the key.' },
  ALERT_WEBHOOK_FAILED: { status: 502, exit: 1, description: 'An alert webhook answered with an error status (retried unless it was a 4xx).' },
  DASHBOARD_NOT_BUILT: { status: 503, exit: 1, description: 'The dashboard assets are missing from dist/dashboard: run `npm run build`.' },
  DASHBOARD_STREAMS_FULL: { status: 503, exit: 1, description: 'The dashboard live stream has as many viewers as it allows; retry later.' },
  // tiered cache
  CACHE_KEY_INVALID: { status: 400, exit: 2, description: 'A cache key, tag or namespace is empty, too long, not a string or holds a control character.' },
  CACHE_VALUE_INVALID: { status: 400, exit: 2, description: 'A cache value is undefined or cannot be serialised with msgpack (or a stored entry cannot be decoded).' },
  CACHE_VALUE_TOO_LARGE: { status: 413, exit: 2, description: 'A cache value is larger than cache.maxValueBytes once serialised.' },
  CACHE_BATCH_TOO_LARGE: { status: 413, exit: 2, description: 'A getMany/setMany/deleteMany/deleteByTag call holds more than cache.maxBatch keys.' },
  CACHE_OPTIONS_INVALID: { status: 500, exit: 2, description: 'A cache option or call option is out of range; the message names it.' },
  CACHE_FACTORY_TIMEOUT: { status: 504, exit: 1, description: 'A getOrSet factory (or the instance holding its lease) ran past the hard timeout and no stale value was at hand.' },
  CACHE_L2_UNAVAILABLE: { status: 503, exit: 1, description: 'Redis (L2) is not connected; the cache absorbs this and serves from L1/L3 (counted, never raised to callers).' },
  CACHE_L3_UNAVAILABLE: { status: 503, exit: 1, description: 'The L3 cache file cannot be opened or created (permissions, not a folder).' },
  CACHE_CLOSED: { status: 503, exit: 1, description: 'The cache was used after it was closed (shutting down).' },
  // resilience policies
  RESILIENCE_BREAKER_OPEN: { status: 503, exit: 1, description: 'A circuit breaker is open (the dependency failed too often, or was isolated); the call was refused.' },
  RESILIENCE_TIMEOUT: { status: 504, exit: 1, description: 'An operation ran past its timeout policy and was aborted.' },
  RESILIENCE_BULKHEAD_FULL: { status: 503, exit: 1, description: 'A bulkhead had every slot busy and its queue full; the call was refused at once.' },
  RESILIENCE_BULKHEAD_WAIT: { status: 503, exit: 1, description: 'A call waited longer than the bulkhead maxWaitMs for a free slot.' },
  RESILIENCE_LIMIT_EXCEEDED: { status: 503, exit: 1, description: 'An adaptive concurrency limit (possibly lowered under memory pressure) refused the call.' },
  RESILIENCE_OPTIONS_INVALID: { status: 500, exit: 2, description: 'A resilience policy was configured with an out-of-range option; the message names it.' },
  RESILIENCE_STATE_INVALID: { status: 400, exit: 2, description: 'A circuit breaker snapshot to restore is malformed; the message says which field.' },
  // outbound HTTP
  NET_URL_INVALID: { status: 400, exit: 2, description: 'An outbound request URL is malformed or not http(s).' },
  NET_REQUEST_INVALID: { status: 400, exit: 2, description: 'An outbound request has a bad method, header or body (or one over its size limit).' },
  NET_OPTIONS_INVALID: { status: 500, exit: 2, description: 'The HTTP client was configured with an out-of-range option (net.* config); the message names it.' },
  NET_CONNECT_FAILED: { status: 502, exit: 1, description: 'An outbound connection was refused, reset or dropped before a response.' },
  NET_CONNECT_TIMEOUT: { status: 504, exit: 1, description: 'An outbound connection was not established within net.connectTimeoutMs.' },
  NET_HEADERS_TIMEOUT: { status: 504, exit: 1, description: 'An upstream server sent no response headers within net.headersTimeoutMs.' },
  NET_BODY_TIMEOUT: { status: 504, exit: 1, description: 'An upstream response body stalled longer than net.bodyTimeoutMs.' },
  NET_TIMEOUT: { status: 504, exit: 1, description: 'An outbound request did not complete within its overall timeout.' },
  NET_HTTP_STATUS: { status: 502, exit: 1, description: 'An upstream server answered with an error status (details carry status and Retry-After).' },
  NET_RESPONSE_TOO_LARGE: { status: 502, exit: 1, description: 'An upstream response body (after decompression) exceeded its size limit.' },
  NET_DECOMPRESSION_FAILED: { status: 502, exit: 1, description: 'An upstream response body could not be decompressed (corrupt gzip/brotli/deflate).' },
  NET_ABORTED: { status: 499, exit: 1, description: 'An outbound request was cancelled by its caller.' },
  NET_CLOSED: { status: 503, exit: 1, description: 'The HTTP client was used after it was closed (shutting down).' },
  NET_BATCH_ITEM_TIMEOUT: { status: 504, exit: 1, description: 'One item of a batch ran past the per-item timeout.' },
  NET_BATCH_CANCELLED: { status: 499, exit: 1, description: 'A batch was aborted before this item ran.' },
  // circle of experts
  EXPERTS_INVALID_REQUEST: { status: 400, exit: 2, description: 'A consultation request is malformed (empty question, bad choices, context too large...); the message names the key.' },
  EXPERTS_UNKNOWN_EXPERT: { status: 400, exit: 2, description: 'A consultation named an expert that is not configured (experts.providers, experts.builtin).' },
  EXPERTS_NO_EXPERTS: { status: 503, exit: 1, description: 'No experts are configured to ask.' },
  EXPERTS_CANCELLED: { status: 499, exit: 1, description: 'The consultation was cancelled (by its caller, or because the engine is shutting down).' },
  EXPERTS_BUSY: { status: 503, exit: 1, description: 'As many background consultations as experts.maxRunning allows are running; retry later.' },
  EXPERTS_NOT_FOUND: { status: 404, exit: 2, description: 'No consultation with that id (running, recent or in the history).' },
  EXPERTS_CONFIG_INVALID: { status: 500, exit: 2, description: 'The experts section is inconsistent (unknown built-in, duplicate name, bad provider entry); the message names the key.' },
  EXPERTS_PROVIDER_NO_KEY: { status: 502, exit: 1, description: 'A provider\'s apiKeyEnv names an environment variable that is not set; the expert is reported as an error.' },
  EXPERTS_PROVIDER_HTTP: { status: 502, exit: 1, description: 'A provider answered with an error status (or an error inside its stream).' },
  EXPERTS_PROVIDER_RATE_LIMITED: { status: 429, exit: 1, description: 'A provider answered 429 (rate limited); retried with backoff honouring Retry-After.' },
  EXPERTS_PROVIDER_NETWORK: { status: 502, exit: 1, description: 'A provider could not be reached (connection refused, reset, DNS, TLS).' },
  EXPERTS_PROVIDER_STREAM_CUT: { status: 502, exit: 1, description: 'A provider\'s response ended before it was complete (stream cut midway).' },
  EXPERTS_PROVIDER_BAD_RESPONSE: { status: 502, exit: 1, description: 'A provider\'s body or stream event was not the JSON its protocol promises; retried once.' },
  EXPERTS_PROVIDER_TOO_LARGE: { status: 502, exit: 1, description: 'A provider\'s response exceeded the size limit (4 MiB, 1 MiB per line/event).' },
  EXPERTS_ANSWER_INVALID: { status: 502, exit: 1, description: 'An expert\'s answer did not match the answer schema (or the choices), even after one retry.' },
  EXPERTS_INTERNAL: { status: 500, exit: 1, description: 'A consultation failed for an unexpected reason; the message says what.' },
  // log analysis and kernels
  LOGS_INPUT_INVALID: { status: 400, exit: 2, description: 'A log analysis request is malformed (no paths, a bad path, an option out of range); the message names the key.' },
  LOGS_FILE_NOT_FOUND: { status: 404, exit: 2, description: 'A log path names no file.' },
  LOGS_NOT_A_FILE: { status: 400, exit: 2, description: 'A log path names a directory or another non-regular file (use a glob such as dir/*.log).' },
  LOGS_NO_MATCH: { status: 404, exit: 2, description: 'A glob pattern matched no file.' },
  LOGS_TOO_MANY_FILES: { status: 400, exit: 2, description: 'The paths expand to more files than logs.maxFiles (or a glob walked too many directory entries).' },
  LOGS_PATH_DENIED: { status: 403, exit: 2, description: 'A log path lies outside logs.roots (after following symlinks), stdin was asked for over the API, or no roots are configured.' },
  LOGS_READ_FAILED: { status: 422, exit: 2, description: 'A log file cannot be read or decompressed (permissions, I/O error, corrupt gzip); the message names the file.' },
  LOGS_ABORTED: { status: 499, exit: 1, description: 'The log analysis was cancelled (the client went away, or the engine is shutting down).' },
  KERNEL_INPUT_INVALID: { status: 400, exit: 2, description: 'A kernel was called with bad arguments (wrong array type, mismatched lengths, a percentile outside 0..100).' },
  KERNEL_INPUT_TOO_LARGE: { status: 413, exit: 2, description: 'A kernel input is larger than 256 MiB.' },
  // deployment specs, the prober and checks
  SPEC_UNREADABLE: { status: 400, exit: 2, description: 'The spec file cannot be read (missing, a directory, permission denied).' },
  SPEC_TOO_LARGE: { status: 413, exit: 2, description: 'The spec is larger than its size limit (1 MiB by default).' },
  SPEC_FORMAT_UNKNOWN: { status: 400, exit: 2, description: 'The spec format is not yaml, json or toml.' },
  SPEC_INVALID: { status: 422, exit: 1, description: 'The spec has error findings (each with file, line, column, path and rule).' },
  PROBE_TARGET_DENIED: { status: 403, exit: 2, description: 'A probe target (or an address its name resolves to) is outside probe.allowlist; nothing was sent to it.' },
  PROBE_TARGET_INVALID: { status: 400, exit: 2, description: 'A probe target is neither an IP address, a CIDR block nor a host name (or an HTTP check path is malformed).' },
  PROBE_DNS_FAILED: { status: 502, exit: 1, description: 'A probe target name did not resolve to any address.' },
  PROBE_PORTS_INVALID: { status: 400, exit: 2, description: 'A port list cannot be read or holds ports outside 1-65535.' },
  PROBE_LIMIT_EXCEEDED: { status: 400, exit: 2, description: 'A probe request exceeds a bound (addresses, address × port attempts, concurrency, timeout).' },
  PROBE_ABORTED: { status: 499, exit: 1, description: 'The probe was cancelled (the client went away, or the engine is shutting down).' },
  PROBE_NOT_FOUND: { status: 404, exit: 2, description: 'No stored probe with that id.' },
  CHECK_NOT_FOUND: { status: 404, exit: 2, description: 'No stored check with that id.' },
  // memory monitor
  MEMORY_CONFIG_INVALID: { status: 400, exit: 2, description: 'A memory section value is out of range or inconsistent (thresholds must rise moderate < high < critical); the message names the key.' },
  MEMORY_SOURCE_INVALID: { status: 500, exit: 1, description: 'A cgroup or /proc memory file does not parse (the message names file and line); the monitor treats that reading as missing and goes on.' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCodeName = keyof typeof errorCatalogue;

const FALLBACK: ErrorEntry = errorCatalogue.ENGINE_INTERNAL;

/** The catalogue entry for a code; unknown codes are internal errors (and a test catches them). */
export function errorEntry(code: string): ErrorEntry {
  return (errorCatalogue as Record<string, ErrorEntry>)[code] ?? FALLBACK;
}
