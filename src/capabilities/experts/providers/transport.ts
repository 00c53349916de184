/**
 * The one thing a provider needs from the network: send a request, get a status, headers and a body
 * to stream. The engine passes `netTransport(engine.http)`, an adapter over its pooled HTTP client
 * (src/platform/net); tests also run the providers over plain undici (test/helpers/undici-transport.ts).
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
      // The client maps any abort of this signal to NET_ABORTED, whatever reason it carries (a
      // per-attempt Timeout policy aborts with RESILIENCE_TIMEOUT): the caller's decision is never
      // counted against the origin's breaker. Our own per-provider breaker still sees the timeout
      // (the Timeout policy rejects with it).
      const res = await client.request(req.url, { method: req.method, headers: req.headers, body: req.body ?? null, signal: req.signal, maxAttempts: 1, idempotent: false });
      return { status: res.status, headers: res.headers, body: res.body };
    },
  };
}
