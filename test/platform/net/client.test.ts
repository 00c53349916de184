import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createMetricsRegistry } from '../../../src/platform/metrics/registry.js';
import { HttpClient, isNetError } from '../../../src/platform/net/index.js';
import { isResilienceError } from '../../../src/platform/resilience/index.js';

/** A real HTTP server on 127.0.0.1:0 with routes that misbehave on purpose; counts requests per path. */
async function startServer(): Promise<{ base: string; hits: Map<string, number>; server: http.Server }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const key = url.pathname;
    const n = (hits.get(key) ?? 0) + 1;
    hits.set(key, n);
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}): void => {
      res.writeHead(status, headers);
      res.end(body);
    };
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      switch (key) {
        case '/json':
          return send(200, JSON.stringify({ path: req.url, method: req.method, version: req.httpVersion, ua: req.headers['user-agent'], ae: req.headers['accept-encoding'] }), { 'content-type': 'application/json' });
        case '/echo':
          return send(200, JSON.stringify({ method: req.method, body, type: req.headers['content-type'] }));
        case '/gzip':
          return send(200, gzipSync('compressed with gzip'), { 'content-encoding': 'gzip' });
        case '/br':
          return send(200, brotliCompressSync('compressed with brotli'), { 'content-encoding': 'br' });
        case '/deflate':
          return send(200, deflateSync('compressed with deflate'), { 'content-encoding': 'deflate' });
        case '/corrupt-gzip':
          return send(200, Buffer.from('this is not gzip at all'), { 'content-encoding': 'gzip' });
        case '/bomb':
          // 64 KiB on the wire, 64 MiB once inflated.
          return send(200, gzipSync(Buffer.alloc(64 * 1024 * 1024)), { 'content-encoding': 'gzip' });
        case '/big':
          return send(200, Buffer.alloc(2048, 'x'));
        case '/big-chunked':
          res.writeHead(200);
          for (let i = 0; i < 4; i++) res.write(Buffer.alloc(1024, 'y'));
          return res.end();
        case '/slow-headers':
          return setTimeout(() => send(200, 'late'), Number(url.searchParams.get('ms') ?? 500));
        case '/slow-body':
          res.writeHead(200, { 'content-length': '100' });
          res.write('start');
          return; // never finishes: the body stalls
        case '/429-once':
          return n === 1 ? send(429, 'slow down', { 'retry-after': '1' }) : send(200, 'finally');
        case '/503':
          return send(503, 'unavailable', { 'retry-after': '0' });
        case '/500':
          return send(500, 'broken');
        case '/reset-once':
          if (n === 1) return req.socket.destroy();
          return send(200, 'after reset');
        case '/reset':
          return req.socket.destroy();
        default:
          return send(404, 'no such route');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, hits, server };
}

/**
 * A raw HTTP/1.1 server that answers the first request of each connection with keep-alive and then,
 * when a second request arrives on the same socket, closes it without answering: what a server does
 * when its keep-alive timeout fires just as the client reuses the socket.
 */
async function startClosingServer(): Promise<{ base: string; connections: () => number; server: net.Server }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let requests = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const end = buffered.indexOf('\r\n\r\n') + 4;
        const head = buffered.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + length) return;
        buffered = buffered.slice(end + length);
        requests++;
        if (requests >= 2) {
          socket.destroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections, server };
}

async function closeServer(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('HttpClient against real local servers', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await closeServer(srv.server);
  });

  it('gets JSON, keeps the query, drops the fragment, sends accept-encoding and user-agent', async () => {
    const client = new HttpClient({ userAgent: 'codectl-test' });
    try {
      const body = await client.getJson<{ path: string; method: string; ua: string; ae: string }>(`${srv.base}/json?a=1&b=two#frag`);
      assert.equal(body.path, '/json?a=1&b=two');
      assert.equal(body.method, 'GET');
      assert.equal(body.ua, 'codectl-test');
      assert.equal(body.ae, 'gzip, deflate, br');
      const stats = client.stats();
      assert.equal(stats.origins.length, 1);
      assert.equal(stats.origins[0]!.origin, srv.base);
      assert.equal(stats.origins[0]!.protocol, 'http/1.1');
      assert.equal(stats.inFlight, 0, 'the slot is given back once the body is read');
    } finally {
      await client.close();
    }
  });

  it('posts JSON once (not idempotent) and echoes it', async () => {
    const client = new HttpClient();
    try {
      const res = await client.request(`${srv.base}/echo`, { method: 'POST', json: { hello: 'world' } });
      assert.deepEqual(await res.json(), { method: 'POST', body: '{"hello":"world"}', type: 'application/json' });
    } finally {
      await client.close();
    }
  });

  it('decompresses gzip, brotli and deflate; leaves the bytes alone when told to', async () => {
    const client = new HttpClient();
    const raw = new HttpClient({ decompress: false });
    try {
      assert.equal(await client.getText(`${srv.base}/gzip`), 'compressed with gzip');
      assert.equal(await client.getText(`${srv.base}/br`), 'compressed with brotli');
      assert.equal(await client.getText(`${srv.base}/deflate`), 'compressed with deflate');
      const res = await raw.request(`${srv.base}/gzip`);
      assert.deepEqual(await res.bytes(), gzipSync('compressed with gzip'));
    } finally {
      await Promise.all([client.close(), raw.close()]);
    }
  });

  it('refuses bodies over maxResponseBytes, declared, chunked or inflated (a gzip bomb)', async () => {
    const client = new HttpClient({ maxResponseBytes: 1024 });
    try {
      await assert.rejects(client.getText(`${srv.base}/big`), (e: unknown) => isNetError(e, 'NET_RESPONSE_TOO_LARGE'));
      await assert.rejects(client.getText(`${srv.base}/big-chunked`), (e: unknown) => isNetError(e, 'NET_RESPONSE_TOO_LARGE'));
      await assert.rejects(client.getText(`${srv.base}/bomb`), (e: unknown) => isNetError(e, 'NET_RESPONSE_TOO_LARGE'));
      await assert.rejects(client.getText(`${srv.base}/corrupt-gzip`), (e: unknown) => isNetError(e, 'NET_DECOMPRESSION_FAILED'));
      // Per request, the limit can be raised.
      const res = await client.request(`${srv.base}/big`, { maxResponseBytes: 4096 });
      assert.equal((await res.text()).length, 2048);
    } finally {
      await client.close();
    }
  });

  it('times out slow headers and stalled bodies with their own codes', async () => {
    const client = new HttpClient({ headersTimeoutMs: 100, bodyTimeoutMs: 100, retry: { maxAttempts: 1 } });
    try {
      await assert.rejects(client.request(`${srv.base}/slow-headers?ms=1000`), (e: unknown) => isNetError(e, 'NET_HEADERS_TIMEOUT'));
      const res = await client.request(`${srv.base}/slow-body`);
      assert.equal(res.status, 200);
      await assert.rejects(res.text(), (e: unknown) => isNetError(e, 'NET_BODY_TIMEOUT'));
      await assert.rejects(client.request(`${srv.base}/slow-headers?ms=1000`, { timeoutMs: 50 }), (e: unknown) => isNetError(e, 'NET_TIMEOUT') || isNetError(e, 'NET_HEADERS_TIMEOUT'));
    } finally {
      await client.close();
    }
  });

  it('takes per-request header timeouts and can bypass the origin breaker', async () => {
    const client = new HttpClient({ headersTimeoutMs: 50, retry: { maxAttempts: 1 } });
    try {
      assert.equal(await client.getText(`${srv.base}/slow-headers?ms=150`, { headersTimeoutMs: 2_000 }), 'late');
      client.breakerFor(srv.base)!.isolate();
      await assert.rejects(client.request(`${srv.base}/json`), (e: unknown) => isResilienceError(e, 'RESILIENCE_BREAKER_OPEN'));
      const res = await client.request(`${srv.base}/json`, { breaker: false });
      assert.equal(res.status, 200);
      await res.dump();
      await assert.rejects(client.request(`${srv.base}/json`, { headersTimeoutMs: 0 }), (e: unknown) => isNetError(e, 'NET_OPTIONS_INVALID'));
      assert.equal(client.stats().inFlight, 0, 'a refused request holds no slot');
    } finally {
      await client.close();
    }
  });

  it('gives up on an overall timeout with NET_TIMEOUT and on a caller abort with NET_ABORTED', async () => {
    const client = new HttpClient({ retry: { maxAttempts: 1 } });
    try {
      await assert.rejects(client.request(`${srv.base}/slow-headers?ms=2000`, { timeoutMs: 50 }), (e: unknown) => isNetError(e, 'NET_TIMEOUT'));
      const ac = new AbortController();
      const p = client.request(`${srv.base}/slow-headers?ms=2000`, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user left')), 30);
      await assert.rejects(p, (e: unknown) => isNetError(e, 'NET_ABORTED'));
      assert.equal(client.breakerFor(srv.base)!.stats().failures, 0, 'a caller abort is not a failure of the origin');
      // An outer policy aborts with its own typed error (a ResilienceError or a NetError of another
      // request): still the caller's decision, never counted against the origin, even past 5 in a row.
      const { ResilienceError } = await import('../../../src/platform/resilience/index.js');
      for (let i = 0; i < 6; i++) {
        const outer = new AbortController();
        const q = client.request(`${srv.base}/slow-headers?ms=2000`, { signal: outer.signal });
        setTimeout(() => outer.abort(new ResilienceError('RESILIENCE_TIMEOUT', 'outer timeout')), 10);
        await assert.rejects(q, (e: unknown) => isNetError(e, 'NET_ABORTED'));
      }
      assert.equal(client.breakerFor(srv.base)!.stats().failures, 0, 'typed abort reasons are caller aborts too');
      assert.equal(client.breakerFor(srv.base)!.state.kind, 'closed');
    } finally {
      await client.close();
    }
  });

  it('honours Retry-After on a 429 for an idempotent request', async () => {
    const client = new HttpClient({ retry: { baseDelayMs: 1 } });
    try {
      const t0 = Date.now();
      assert.equal(await client.getText(`${srv.base}/429-once`), 'finally');
      assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms, Retry-After said 1 s`);
      assert.equal(srv.hits.get('/429-once'), 2);
      assert.equal(client.stats().origins[0]!.retries, 1);
    } finally {
      await client.close();
    }
  });

  it('retries a 503 up to maxAttempts and then hands the last 503 back; never retries a POST', async () => {
    const client = new HttpClient({ retry: { maxAttempts: 3, baseDelayMs: 1 }, breaker: false });
    try {
      const res = await client.request(`${srv.base}/503`);
      assert.equal(res.status, 503);
      assert.equal(await res.text(), 'unavailable');
      assert.equal(srv.hits.get('/503'), 3);
      const post = await client.request(`${srv.base}/503`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 503);
      await post.dump();
      assert.equal(srv.hits.get('/503'), 4, 'a POST goes once');
      const marked = await client.request(`${srv.base}/503`, { method: 'POST', body: 'x', idempotent: true });
      await marked.dump();
      assert.equal(srv.hits.get('/503'), 7, 'a POST marked idempotent is retried');
      await assert.rejects(client.getText(`${srv.base}/503`), (e: unknown) => isNetError(e, 'NET_HTTP_STATUS') && (e as unknown as { details: { status: number } }).details.status === 503);
    } finally {
      await client.close();
    }
  });

  it('opens the origin breaker after 5 failing calls and then refuses without reaching the server', async () => {
    const client = new HttpClient({ retry: { maxAttempts: 1 } });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await client.request(`${srv.base}/500`);
        assert.equal(res.status, 500);
        await res.dump();
      }
      const before = srv.hits.get('/500');
      await assert.rejects(client.request(`${srv.base}/json`), (e: unknown) => isResilienceError(e, 'RESILIENCE_BREAKER_OPEN'));
      assert.equal(srv.hits.get('/500'), before);
      assert.equal(client.stats().origins[0]!.breaker!.state.kind, 'open');
    } finally {
      await client.close();
    }
  });

  it('replays a GET on a fresh connection when the server reset it, and maps a persistent reset', async () => {
    const client = new HttpClient({ retry: { maxAttempts: 2, baseDelayMs: 1 }, breaker: false });
    try {
      assert.equal(await client.getText(`${srv.base}/reset-once`), 'after reset');
      await assert.rejects(client.request(`${srv.base}/reset`), (e: unknown) => isNetError(e, 'NET_CONNECT_FAILED'));
      // 2 attempts, each replayed once after the reset.
      assert.equal(srv.hits.get('/reset'), 4);
    } finally {
      await client.close();
    }
  });

  it('maps a refused connection to NET_CONNECT_FAILED after retrying it', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new HttpClient({ retry: { maxAttempts: 3, baseDelayMs: 1 } });
    try {
      await assert.rejects(client.request(`http://127.0.0.1:${port}/`), (e: unknown) => isNetError(e, 'NET_CONNECT_FAILED'));
      assert.equal(client.stats().origins[0]!.retries, 2);
    } finally {
      await client.close();
    }
  });

  it('caps requests in flight across origins, queues a bounded number and refuses the rest', async () => {
    const client = new HttpClient({ maxConnections: 2, maxQueue: 1, maxQueueWaitMs: 5_000 });
    try {
      const slow = [client.request(`${srv.base}/slow-headers?ms=150`), client.request(`${srv.base}/slow-headers?ms=150`)];
      const queued = client.request(`${srv.base}/json`);
      await assert.rejects(client.request(`${srv.base}/json`), (e: unknown) => isResilienceError(e, 'RESILIENCE_BULKHEAD_FULL'));
      assert.equal(client.stats().queued, 1);
      for (const r of await Promise.all(slow)) await r.text();
      const q = await queued;
      assert.equal(q.status, 200);
      await q.dump();
      assert.equal(client.stats().inFlight, 0);
    } finally {
      await client.close();
    }
  });

  it('records latency, outcomes and pool state per origin; two clients share a registry', async () => {
    const metrics = createMetricsRegistry();
    const a = new HttpClient({ name: 'a', metrics });
    const b = new HttpClient({ name: 'b', metrics });
    try {
      await a.getText(`${srv.base}/json`);
      await (await b.request(`${srv.base}/404`)).dump();
      const text = metrics.exposition();
      const origin = srv.base.replace(/[.]/g, '\\.');
      assert.match(text, new RegExp(`code_net_requests_total\\{client="a",origin="${origin}",class="2xx"\\} 1`));
      assert.match(text, new RegExp(`code_net_requests_total\\{client="b",origin="${origin}",class="4xx"\\} 1`));
      assert.match(text, /code_net_request_duration_seconds_count\{client="a",origin="[^"]+"\} 1/);
      assert.match(text, new RegExp(`code_net_pool_connections\\{client="a",origin="${origin}",state="connected"\\} 1`));
      assert.match(text, /code_net_utilisation_ratio\{client="a"\} 0/);
      assert.match(text, /code_breaker_state\{breaker="a http:\/\/127\.0\.0\.1:\d+"\} 0/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('validates URLs and options, and refuses requests after close', async () => {
    const client = new HttpClient();
    await assert.rejects(client.request('ftp://127.0.0.1/x'), (e: unknown) => isNetError(e, 'NET_URL_INVALID'));
    await assert.rejects(client.request('http://user:secret@127.0.0.1/x'), (e: unknown) => isNetError(e, 'NET_URL_INVALID') && !(e as Error).message.includes('secret'));
    await assert.rejects(client.request('not a url'), (e: unknown) => isNetError(e, 'NET_URL_INVALID'));
    await assert.rejects(client.request(`${srv.base}/${'x'.repeat(20_000)}`), (e: unknown) => isNetError(e, 'NET_URL_INVALID'));
    assert.throws(() => new HttpClient({ connectionsPerOrigin: 0 }), (e: unknown) => isNetError(e, 'NET_OPTIONS_INVALID') && /connectionsPerOrigin/.test((e as Error).message));
    assert.throws(() => new HttpClient({ breaker: { successesToClose: 9 } }), (e: unknown) => isResilienceError(e, 'RESILIENCE_OPTIONS_INVALID'));
    await client.close();
    await assert.rejects(client.request(`${srv.base}/json`), (e: unknown) => isNetError(e, 'NET_CLOSED'));
  });

  it('keeps at most maxOrigins pools, closing the least recently used', async () => {
    const other = await startServer();
    const client = new HttpClient({ maxOrigins: 1 });
    try {
      await client.getText(`${srv.base}/json`);
      await client.getText(`${other.base}/json`);
      assert.deepEqual(
        client.stats().origins.map((o) => o.origin),
        [other.base],
      );
      assert.equal(await client.getText(`${srv.base}/json`).then((t) => JSON.parse(t).method), 'GET');
    } finally {
      await client.close();
      await closeServer(other.server);
    }
  });

  it('runs a batch of requests with results in input order', async () => {
    const client = new HttpClient();
    try {
      const paths = ['/json?i=0', '/404', '/json?i=2', '/gzip'];
      const results = await client.batch(paths.map((p) => ({ url: srv.base + p })), { concurrency: 2 });
      assert.deepEqual(
        results.map((r) => (r.ok ? r.value.status : -1)),
        [200, 404, 200, 200],
      );
      assert.equal(results[3]!.ok && results[3]!.value.body, 'compressed with gzip');
      assert.equal(results[2]!.ok && JSON.parse(results[2]!.value.body).path, '/json?i=2');
    } finally {
      await client.close();
    }
  });
});

describe('HttpClient keep-alive', () => {
  it('closes idle sockets itself, before the server would (its keep-alive timeout is below the server’s)', async () => {
    let closed = 0;
    const server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: net.Socket) => socket.on('close', () => closed++));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const client = new HttpClient({ keepAliveTimeoutMs: 100 });
    try {
      assert.equal(await client.getText(base), 'ok');
      assert.equal(client.stats().origins[0]!.connected, 1);
      await new Promise((r) => setTimeout(r, 400));
      // The server would wait 5 s: a socket gone after 400 ms was closed by the client.
      assert.equal(closed, 1, 'the client closed the idle socket');
      assert.equal(client.stats().origins[0]!.connected, 0);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });
});

describe('HttpClient and keep-alive sockets the server closed', () => {
  it('replays an idempotent request on a fresh connection, never a POST', async () => {
    const { base, connections, server } = await startClosingServer();
    const client = new HttpClient({ connectionsPerOrigin: 1, retry: { maxAttempts: 1 }, breaker: false });
    try {
      assert.equal(await client.getText(`${base}/a`), 'ok');
      assert.equal(await client.getText(`${base}/b`), 'ok', 'the second GET lands on the closed socket and is replayed');
      assert.equal(client.stats().origins[0]!.staleSocketReplays, 1);
      assert.equal(connections(), 2);
      // The POST reuses the (second) connection, which the server closes: not replayed.
      await assert.rejects(client.request(`${base}/c`, { method: 'POST', body: 'once' }), (e: unknown) => isNetError(e, 'NET_CONNECT_FAILED'));
      assert.equal(client.stats().origins[0]!.staleSocketReplays, 1);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });
});

describe('HttpClient over HTTP/2', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'net-h2-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const answer = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version: req.httpVersion }));
  };

  it('negotiates h2 over TLS when the flag is on, HTTP/1.1 when it is off, switched at run time', async () => {
    const server = http2.createSecureServer({ cert, key, allowHTTP1: true }, answer);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    let h2 = false;
    const client = new HttpClient({ http2: () => h2, tls: { ca: cert } });
    try {
      assert.deepEqual(await client.getJson(`${base}/`), { version: '1.1' });
      h2 = true;
      assert.deepEqual(await client.getJson(`${base}/`), { version: '2.0' });
      assert.equal(client.stats().origins[0]!.protocol, 'h2');
      h2 = false;
      assert.deepEqual(await client.getJson(`${base}/`), { version: '1.1' });
      // A flags object works as the switch too.
      const flagged = new HttpClient({ http2: { enabled: (name) => name === 'net.http2' }, tls: { ca: cert } });
      assert.deepEqual(await flagged.getJson(`${base}/`), { version: '2.0' });
      await flagged.close();
    } finally {
      await client.close();
      server.close();
    }
  });

  it('speaks h2c to a cleartext HTTP/2 server when allowed', async () => {
    const server = http2.createServer(answer);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const client = new HttpClient({ http2: true, http2Cleartext: true });
    try {
      assert.deepEqual(await client.getJson(`${base}/x`), { version: '2.0' });
      assert.equal(client.stats().origins[0]!.protocol, 'h2c');
    } finally {
      await client.close();
      server.close();
    }
  });

  it('refuses a certificate it cannot verify', async () => {
    const server = http2.createSecureServer({ cert, key, allowHTTP1: true }, answer);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new HttpClient({ retry: { maxAttempts: 1 } });
    try {
      await assert.rejects(client.request(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`), (e: unknown) => isNetError(e, 'NET_CONNECT_FAILED'));
    } finally {
      await client.close();
      server.close();
    }
  });
});
