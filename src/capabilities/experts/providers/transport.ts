import { request } from 'undici';
import type { Dispatcher } from 'undici';

/**
 * The one thing a provider needs from the network: send a request, get a status, headers and a body
 * to stream. The engine passes an adapter over its pooled HTTP client (src/platform/net); `undiciTransport`
 * is the plain fallback on undici.
 */
export interface TransportRequest {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Read it to the end, or break out of the loop (which releases the connection). */
  body: AsyncIterable<Uint8Array>;
}

export interface HttpTransport {
  request(req: TransportRequest): Promise<TransportResponse>;
}

/** A transport on undici's `request` (its global pool, or the dispatcher given). */
export function undiciTransport(opts: { dispatcher?: Dispatcher; headersTimeoutMs?: number; bodyTimeoutMs?: number } = {}): HttpTransport {
  return {
    async request(req) {
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: req.signal,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
        headersTimeout: opts.headersTimeoutMs ?? 300_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    },
  };
}

/** The part of the platform HttpClient (src/platform/net) a transport uses. */
export interface NetClientLike {
  request(
    url: string,
    options: { method: string; headers: Record<string, string>; body?: string | null; signal: AbortSignal; maxAttempts: number; idempotent: boolean },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: AsyncIterable<Uint8Array> }>;
}

/**
 * A transport over the engine's pooled HTTP client: its per-origin pools, connection cap, timeouts,
 * decompression, per-origin breaker and metrics. One attempt per call: the expert's own policy
 * (providerPolicy) decides about retries, since it knows which provider errors are worth one.
 */
export function netTransport(client: NetClientLike): HttpTransport {
  return {
    async request(req) {
      // The client counts an abort as the caller giving up (not the origin's fault) only when the
      // abort carries no error of its own; a per-attempt Timeout policy aborts with
      // RESILIENCE_TIMEOUT, which the origin breaker would count, so that one shared slow moment
      // of this process could shut every provider on that origin out. Our own per-provider breaker
      // still sees the timeout (the Timeout policy rejects with it).
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      if (req.signal.aborted) controller.abort();
      else req.signal.addEventListener('abort', onAbort, { once: true });
      // The listener stays while the body streams (an abort must stop the read too); it goes with
      // the per-call signal.
      const res = await client.request(req.url, { method: req.method, headers: req.headers, body: req.body ?? null, signal: controller.signal, maxAttempts: 1, idempotent: false });
      return { status: res.status, headers: res.headers, body: res.body };
    },
  };
}
