// The prober against real listeners on 127.0.0.1 and ::1, a real HTTP server and a real DNS server.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { hasCode } from '../../../src/platform/errors.js';
import { createDnsLookup, Prober, type HttpGet } from '../../../src/capabilities/probe/index.js';
import { closedPort, dnsServer, filteredPort, listen, type Listener } from './helpers.js';

const httpGet: HttpGet = async (url, { signal }) => {
  const res = await request(url, { signal });
  await res.body.dump();
  return { status: res.statusCode };
};

let v4: Listener;
let v6: Listener;
let ssh: Listener;
let http: HttpServer;
let httpPort: number;
before(async () => {
  v4 = await listen('127.0.0.1');
  v6 = await listen('::1');
  ssh = await listen('127.0.0.1', 'SSH-2.0-OpenSSH_9.2p1 Debian\r\n');
  http = createHttpServer((req, res) => {
    res.statusCode = req.url === '/health' ? 200 : 503;
    res.end('x');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  httpPort = (http.address() as AddressInfo).port;
});
after(async () => {
  await Promise.all([v4.close(), v6.close(), ssh.close(), new Promise((r) => http.close(r))]);
});

for (const dialer of ['raw', 'net'] as const) {
  test(`${dialer} dialer: open and closed on IPv4 and IPv6, with latency and labels`, async () => {
    const closed4 = await closedPort('127.0.0.1');
    const closed6 = await closedPort('::1');
    const p = new Prober({ dialer: () => dialer, cacheTtlMs: 0 });
    const r = await p.scan({ targets: ['127.0.0.1', '::1'], ports: [v4.port, v6.port, closed4, closed6, 6379] });
    const state = (address: string, port: number) => r.results.find((x) => x.address === address && x.port === port)?.state;
    assert.equal(state('127.0.0.1', v4.port), 'open');
    assert.equal(state('127.0.0.1', closed4), 'closed');
    assert.equal(state('::1', v6.port), 'open');
    assert.equal(state('::1', closed6), 'closed');
    assert.equal(state('127.0.0.1', 6379), 'open', 'the test Redis listens on 6379');
    assert.equal(r.results.find((x) => x.port === 6379 && x.address === '127.0.0.1')!.service, 'redis');
    for (const x of r.results) assert.ok(x.latencyMs >= 0 && x.latencyMs < 5000);
    assert.equal(r.summary.open + r.summary.closed + r.summary.filtered, r.results.length);
    assert.equal(r.summary.addresses, 2);
    assert.equal(r.engine!.dialer, dialer);
  });

  test(`${dialer} dialer: a socket connected to itself is not an open port`, async () => {
    // Bind the source port to the destination port: the kernel connects the socket to itself
    // (TCP simultaneous open) although nothing listens. First show that the hazard is real here.
    const port = await closedPort('127.0.0.1');
    const naive = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort: port });
      s.once('connect', () => { s.destroy(); resolve('connected'); });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(naive, 'connected', 'a plain connect reports the self-connect as success');
    const p = new Prober({ dialer: () => dialer, cacheTtlMs: 0 });
    const r = await p.scan({ targets: ['127.0.0.1'], ports: [port], sourcePort: port });
    assert.equal(r.results[0]!.state, 'closed');
    assert.equal(r.engine!.selfConnects, 1);
  });
}

test('filtered: a port whose SYNs go unanswered times out', async () => {
  const f = await filteredPort('127.0.0.1');
  try {
    const p = new Prober({ cacheTtlMs: 0 });
    const r = await p.scan({ targets: ['127.0.0.1'], ports: [f.port, v4.port], timeoutMs: 300 });
    assert.equal(r.results.find((x) => x.port === f.port)!.state, 'filtered');
    assert.ok(r.results.find((x) => x.port === f.port)!.latencyMs >= 290);
    assert.equal(r.results.find((x) => x.port === v4.port)!.state, 'open');
  } finally {
    await f.close();
  }
});

test('banner: read and used to name the service', async () => {
  const p = new Prober({ cacheTtlMs: 0 });
  const r = await p.scan({ targets: ['127.0.0.1'], ports: [ssh.port, v4.port], banner: true, bannerTimeoutMs: 200 });
  const s = r.results.find((x) => x.port === ssh.port)!;
  assert.equal(s.banner, 'SSH-2.0-OpenSSH_9.2p1 Debian');
  assert.equal(s.service, 'ssh');
  assert.equal(r.results.find((x) => x.port === v4.port)!.banner, undefined, 'a silent port has no banner');
});

test('HTTP health check through the injected client', async () => {
  const p = new Prober({ cacheTtlMs: 0, httpGet });
  const ok = await p.scan({ targets: ['127.0.0.1'], ports: [httpPort], http: { path: '/health' } });
  assert.equal(ok.results[0]!.http!.ok, true);
  assert.equal(ok.results[0]!.http!.status, 200);
  const bad = await p.httpCheck('127.0.0.1', httpPort, '/other', 1000);
  assert.deepEqual([bad.ok, bad.status], [false, 503]);
  const silent = await p.httpCheck('127.0.0.1', v4.port, '/health', 200);
  assert.equal(silent.ok, false);
  assert.match(silent.error!, /200 ms/);
  await assert.rejects(p.httpCheck('10.0.0.1', 80, '/', 100), (e) => hasCode(e, 'PROBE_TARGET_DENIED'));
});

test('results are cached for the TTL, then probed again; fresh bypasses the cache', async () => {
  const l = await listen('127.0.0.1');
  const p = new Prober({ cacheTtlMs: 300 });
  const first = await p.scan({ targets: ['127.0.0.1'], ports: [l.port] });
  assert.equal(first.results[0]!.state, 'open');
  assert.equal(first.summary.cached, 0);
  await l.close();
  const second = await p.scan({ targets: ['127.0.0.1'], ports: [l.port] });
  assert.equal(second.results[0]!.state, 'open', 'served from the cache');
  assert.equal(second.summary.cached, 1);
  assert.equal(second.engine, undefined, 'no connect at all');
  const fresh = await p.scan({ targets: ['127.0.0.1'], ports: [l.port], fresh: true });
  assert.equal(fresh.results[0]!.state, 'closed');
  // The fresh scan refreshed the entry; after the TTL it expires and is probed again.
  await new Promise((r) => setTimeout(r, 350));
  const third = await p.scan({ targets: ['127.0.0.1'], ports: [l.port] });
  assert.equal(third.summary.cached, 0);
  assert.equal(third.results[0]!.state, 'closed');
  assert.ok(p.stats().cacheHits >= 1);
});

test('a denied target is refused before any connection, with PROBE_TARGET_DENIED', async () => {
  const p = new Prober();
  for (const target of ['10.0.0.1', '192.0.2.1', '::ffff:10.0.0.1', '0.0.0.0', '2001:db8::1', '10.0.0.0/30']) {
    await assert.rejects(p.scan({ targets: ['127.0.0.1', target], ports: '80' }), (e) => {
      assert.ok(hasCode(e, 'PROBE_TARGET_DENIED'), String(e));
      assert.match((e as Error).message, /allowlist/);
      return true;
    }, target);
  }
  // A block that reaches past the allowlist is denied as a whole.
  const narrow = new Prober({ allowlist: ['127.0.0.0/30'] });
  await assert.rejects(narrow.scan({ targets: ['127.0.0.0/29'], ports: '80' }), (e) => hasCode(e, 'PROBE_TARGET_DENIED'));
  assert.equal(p.stats().attempts, 0, 'the engine never ran');
  assert.equal(narrow.stats().attempts, 0);
  assert.ok(p.stats().denied >= 6);
});

test('names resolve through DNS to IPv4 and IPv6; a name resolving outside the allowlist is denied', async () => {
  const dns = await dnsServer({ 'both.test': ['127.0.0.1', '::1'], 'evil.test': ['127.0.0.1', '10.9.9.9'] });
  try {
    const p = new Prober({ lookup: createDnsLookup([dns.address], 1000), cacheTtlMs: 0 });
    const r = await p.scan({ targets: ['both.test'], ports: [v4.port, v6.port] });
    assert.deepEqual(new Set(r.results.map((x) => x.address)), new Set(['127.0.0.1', '::1']));
    assert.ok(r.results.every((x) => x.host === 'both.test'));
    assert.equal(r.results.find((x) => x.address === '127.0.0.1' && x.port === v4.port)!.state, 'open');
    assert.equal(r.results.find((x) => x.address === '::1' && x.port === v6.port)!.state, 'open');
    assert.ok(dns.queries.includes('both.test/A') && dns.queries.includes('both.test/AAAA'));

    await assert.rejects(p.scan({ targets: ['evil.test'], ports: [v4.port] }), (e) => hasCode(e, 'PROBE_TARGET_DENIED') && /10\.9\.9\.9/.test((e as Error).message));
    assert.equal(p.stats().attempts, 4, 'only the first scan (2 addresses × 2 ports) connected');
    await assert.rejects(p.scan({ targets: ['nowhere.test'], ports: [80] }), (e) => hasCode(e, 'PROBE_DNS_FAILED'));
  } finally {
    await dns.close();
  }
});

test('a DNS server that never answers: PROBE_DNS_FAILED after dnsTimeoutMs', async () => {
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  try {
    const p = new Prober({ lookup: createDnsLookup([`127.0.0.1:${silent.address().port}`], 10_000), dnsTimeoutMs: 300 });
    await assert.rejects(p.scan({ targets: ['slow.test'], ports: [80] }), (e) => hasCode(e, 'PROBE_DNS_FAILED') && /300 ms/.test((e as Error).message));
  } finally {
    silent.close();
  }
});

test('openOnly, adaptive concurrency bounded by the request, limits', async () => {
  const p = new Prober({ cacheTtlMs: 0 });
  const r = await p.scan({ targets: ['127.0.0.1'], ports: `${v4.port},40000-40199`, concurrency: 4, openOnly: true });
  assert.ok(r.results.every((x) => x.state === 'open'));
  assert.ok(r.results.some((x) => x.port === v4.port));
  assert.ok(r.summary.closed >= 150, 'summary still counts every port');
  assert.ok(r.engine!.peakConcurrency <= 4);
  await assert.rejects(p.scan({ targets: ['127.0.0.1'], ports: '80', concurrency: 0 }), (e) => hasCode(e, 'PROBE_LIMIT_EXCEEDED'));
  await assert.rejects(p.scan({ targets: ['127.0.0.1'], ports: '80', timeoutMs: 600_000 }), (e) => hasCode(e, 'PROBE_LIMIT_EXCEEDED'));
  const small = new Prober({ maxAttempts: 100 });
  await assert.rejects(small.scan({ targets: ['127.0.0.1', '::1'], ports: '1-60' }), (e) => hasCode(e, 'PROBE_LIMIT_EXCEEDED'));
  await assert.rejects(p.scan({ targets: [], ports: '80' }), (e) => hasCode(e, 'PROBE_TARGET_INVALID'));
});

test('a scan can be aborted', async () => {
  const f = await filteredPort('127.0.0.1');
  try {
    const p = new Prober({ cacheTtlMs: 0 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    await assert.rejects(p.scan({ targets: ['127.0.0.1'], ports: [f.port], timeoutMs: 5000 }, { signal: ctl.signal }), (e) => hasCode(e, 'PROBE_ABORTED'));
  } finally {
    await f.close();
  }
});

test('progress is reported up to the total', async () => {
  const p = new Prober({ cacheTtlMs: 0 });
  const seen: number[] = [];
  await p.scan({ targets: ['127.0.0.1'], ports: '41000-41499' }, { onProgress: (done, total) => { assert.equal(total, 500); seen.push(done); } });
  assert.equal(seen.at(-1), 500);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
});

test('a server that is listening during the scan of its own port range is found', async () => {
  // Many listeners at once: every one must come out open, every other port of the range closed.
  const servers = await Promise.all(Array.from({ length: 20 }, () => listen('127.0.0.1')));
  try {
    const ports = servers.map((s) => s.port);
    const lo = Math.min(...ports);
    const hi = Math.max(...ports);
    const p = new Prober({ cacheTtlMs: 0 });
    const r = await p.scan({ targets: ['127.0.0.1'], ports: `${lo}-${hi}`, openOnly: true, timeoutMs: 2000 });
    const found = new Set(r.results.map((x) => x.port));
    for (const port of ports) assert.ok(found.has(port), `listener ${port} found`);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});
