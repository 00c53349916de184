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
