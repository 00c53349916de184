import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { HttpClientOptions } from '../../../platform/net/index.js';

const ms = (def: number, min: number, max: number, description: string) => Type.Integer({ default: def, minimum: min, maximum: max, description });
const group = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) => Type.Object(props, { additionalProperties: false, default: {}, description });

/** The shared outbound HTTP client, engine.http (src/platform/net, README "Resilience policies"). HTTP/2 is the `net.http2` flag. */
export const netSection = Type.Object(
  {
    connectionsPerOrigin: Type.Integer({ default: 16, minimum: 1, maximum: 4096, description: 'Connections kept per origin (scheme://host:port).' }),
    maxConnections: Type.Integer({ default: 256, minimum: 1, maximum: 65_536, description: 'Requests in flight across all origins; each holds a connection until its body is read.' }),
    maxQueue: Type.Integer({ default: 1024, minimum: 0, maximum: 1_000_000, description: 'Requests waiting for one of maxConnections; one more fails at once (RESILIENCE_BULKHEAD_FULL).' }),
    maxQueueWaitMs: ms(10_000, 0, 3_600_000, 'Longest wait for a connection slot (RESILIENCE_BULKHEAD_WAIT after).'),
    maxOrigins: Type.Integer({ default: 256, minimum: 1, maximum: 100_000, description: 'Origins with a pool; the least recently used pool is closed gracefully beyond.' }),
    keepAliveTimeoutMs: ms(4_000, 1, 3_600_000, 'Idle keep-alive sockets close after at most this; sooner when a server announces a shorter Keep-Alive timeout (Node servers: 5 000).'),
    keepAliveTimeoutThresholdMs: ms(1_000, 0, 60_000, 'Subtracted from a server-announced keep-alive timeout so the client closes first.'),
    connectTimeoutMs: ms(5_000, 1, 600_000, 'TCP and TLS connect timeout (NET_CONNECT_TIMEOUT).'),
    headersTimeoutMs: ms(30_000, 1, 3_600_000, 'Time to the response headers (NET_HEADERS_TIMEOUT).'),
    bodyTimeoutMs: ms(30_000, 1, 3_600_000, 'Longest silence between two response body chunks (NET_BODY_TIMEOUT).'),
    timeoutMs: ms(0, 0, 86_400_000, 'Overall timeout of a request (all attempts, to the headers) when the caller gives none; 0: none.'),
    maxResponseBytes: Type.Integer({ default: 16 * 1024 * 1024, minimum: 0, maximum: 2 ** 31 - 1, description: 'Largest response body read whole (text/json), after decompression (NET_RESPONSE_TOO_LARGE).' }),
    decompress: Type.Boolean({ default: true, description: 'Ask for gzip, deflate and br and decompress responses.' }),
    http2Cleartext: Type.Boolean({ default: false, description: 'With the net.http2 flag on, speak h2c (prior knowledge) to http:// origins too. Only for servers known to accept it.' }),
    userAgent: Type.String({ default: 'codectl', maxLength: 200, description: 'User-Agent of outbound requests that set none.' }),
    retry: group(
      {
        maxAttempts: Type.Integer({ default: 3, minimum: 1, maximum: 20, description: 'Attempts of an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) in all; 1 disables retries.' }),
        baseDelayMs: ms(100, 0, 600_000, 'First backoff ceiling; doubles per retry, full jitter.'),
        maxDelayMs: ms(10_000, 0, 3_600_000, 'Largest backoff ceiling.'),
        maxElapsedMs: ms(30_000, 0, 86_400_000, 'No retry starts past this since the first attempt (a longer Retry-After gives up).'),
      },
      'Retries of idempotent requests on connection errors, timeouts to headers, 408, 429, 502, 503, 504.',
    ),
    breaker: group(
      {
        enabled: Type.Boolean({ default: true, description: 'A circuit breaker per origin.' }),
        consecutiveFailures: Type.Integer({ default: 5, minimum: 1, maximum: 1_000_000, description: 'Opens after this many failures in a row (connection errors, timeouts, 5xx).' }),
        errorRate: Type.Number({ default: 0.5, exclusiveMinimum: 0, maximum: 1, description: 'Opens when this share of the last windowSize calls failed...' }),
        windowSize: Type.Integer({ default: 100, minimum: 1, maximum: 100_000, description: '...over this many calls...' }),
        minimumCalls: Type.Integer({ default: 10, minimum: 1, maximum: 100_000, description: '...once the window holds at least this many.' }),
        openMs: ms(60_000, 0, 86_400_000, 'How long an open breaker refuses calls before trials.'),
        halfOpenTrials: Type.Integer({ default: 3, minimum: 1, maximum: 1_000_000, description: 'Trial calls let through when half-open.' }),
        successesToClose: Type.Integer({ default: 3, minimum: 1, maximum: 1_000_000, description: 'Successful trials that close it (any failed trial reopens it).' }),
      },
      'Per-origin circuit breaker.',
    ),
  },
  { additionalProperties: false, default: {} },
);

export type NetSettings = Static<typeof netSection>;

/** The HttpClient options of the `net` section (the HTTP/2 switch and the metrics come from the engine). */
export function netOptions(cfg: NetSettings): HttpClientOptions {
  const { retry, breaker, ...rest } = cfg;
  const { enabled, ...breakerOptions } = breaker;
  return { name: 'http', ...rest, retry, breaker: enabled ? breakerOptions : false };
}
