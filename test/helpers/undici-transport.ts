import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { HttpTransport } from '../../src/capabilities/experts/providers/index.js';

/**
 * A provider transport straight on undici's `request`, for tests and benchmarks: it shows the
 * providers speak their protocols over any HttpTransport, not only over the engine's client.
 * Product code sends through `netTransport(engine.http)` (lint keeps undici inside src/platform/net).
 */
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
