/**
 * The prober: targets (names, addresses, CIDR blocks) × ports → open / closed / filtered, with
 * service labels, optional banners and HTTP checks, and a TTL cache. Every destination is checked
 * against the allowlist after resolution and before the first packet.
 *
 *   const prober = new Prober({ allowlist: ['127.0.0.0/8', '::1/128'] });
 *   const { results, summary } = await prober.scan({ targets: ['localhost'], ports: '1-1024' });
 */
import { lookup as dnsLookup, Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIPv4, Socket } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { Counter, Histogram, MetricsRegistry } from '../../platform/metrics/types.js';
import { ProbeError } from './errors.js';
import { connectScan, PortState, type EngineStats, type ScanJob } from './scanner.js';
import { cleanBanner, serviceForPort, serviceFromBanner } from './services.js';
import { Allowlist, DEFAULT_ALLOWLIST, expandCidr, normalizeAddress, parsePorts, parseTarget } from './targets.js';

export type ProbeState = 'open' | 'closed' | 'filtered';

export interface HttpCheckResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error?: string;
}

export interface ProbeResult {
  /** The target as named: a host name, or the address itself. */
  host: string;
  address: string;
  port: number;
  state: ProbeState;
  /** Well-known service on this port (or recognised from the banner), else null. */
  service: string | null;
  latencyMs: number;
  banner?: string;
  http?: HttpCheckResult;
}

export interface ProbeSummary {
  open: number;
  closed: number;
  filtered: number;
  durationMs: number;
  addresses: number;
  ports: number;
  /** Results served from the TTL cache instead of a new connect. */
  cached: number;
}

export interface ProbeReport {
  results: ProbeResult[];
  summary: ProbeSummary;
  engine: EngineStats | undefined;
}

export interface ProbeRequest {
  /** `127.0.0.1`, `::1`, `localhost`, `127.0.0.0/30`, `[::1]:8080`... */
  targets: readonly string[];
  /** `22,80,1000-2000`, `all`, or a list; default: the well-known ports. A `host:port` target overrides it. */
  ports?: string | readonly number[];
  timeoutMs?: number;
  concurrency?: number;
  /** Report open ports only. */
  openOnly?: boolean;
  /** Read what each open port says first (up to 256 bytes, within bannerTimeoutMs). */
  banner?: boolean;
  bannerTimeoutMs?: number;
  /** GET this path on every open port. */
  http?: { path: string };
  /** Ignore cached results (still refreshes the cache). */
  fresh?: boolean;
  /** Bind every attempt to this source port (nmap's --source-port); one attempt at a time. */
  sourcePort?: number;
}

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** An HTTP GET, injected (the platform HTTP client in the engine; anything fetch-like in tests). */
export type HttpGet = (url: string, opts: { signal: AbortSignal; timeoutMs: number }) => Promise<{ status: number }>;
/** Name → addresses, IPv4 and IPv6. Default: the system resolver (getaddrinfo: hosts file, DNS). */
export type Lookup = (name: string) => Promise<Array<{ address: string; family: number }>>;

export interface ProberOptions {
  /** CIDR blocks or addresses that may be probed. Default loopback only: 127.0.0.0/8 and ::1/128. */
  allowlist?: readonly string[];
  /** Per-attempt connect timeout. Default 1000 ms. */
  timeoutMs?: number;
  /** Ceiling of the adaptive concurrency limit. Default 512. */
  maxConcurrency?: number;
  /** How long a result is reused. Default 30 s; 0 disables the cache. */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  /** Most addresses in one request (CIDR blocks and names expand). Default 256. */
  maxAddresses?: number;
  /** Most address × port attempts in one request. Default 262,144 (four full hosts). */
  maxAttempts?: number;
  lookup?: Lookup;
  /** A name that does not resolve within this fails with PROBE_DNS_FAILED. Default 5,000 ms. */
  dnsTimeoutMs?: number;
  httpGet?: HttpGet;
  /** Read at each scan, so a feature flag can switch dialers at run time. Default: raw when available. */
  dialer?: () => 'raw' | 'net';
  metrics?: MetricsRegistry;
}

interface Cached {
  state: PortState;
  latencyMs: number;
  banner: string | undefined;
}

interface PlannedTarget {
  host: string;
  address: string;
  family: 4 | 6;
  ports: readonly number[];
}

const STATE_NAMES: Record<number, ProbeState> = { [PortState.Open]: 'open', [PortState.Closed]: 'closed', [PortState.Filtered]: 'filtered' };
const MAX_CONCURRENCY = 8192;
/** Scans with more attempts than this cache open and filtered results only. */
const SWEEP_ATTEMPTS = 4096;
const MAX_TIMEOUT_MS = 60_000;

/** The kernel's ephemeral port range (where our own sockets' source ports live). */
const EPHEMERAL: readonly [number, number] = (() => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo! >= 1 && hi! <= 65535 && lo! <= hi!) return [lo!, hi!] as const;
  } catch (_) {
    // not Linux: use the IANA range, which BSDs and Windows use
  }
  return [32768, 65535] as const;
})();

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

const systemLookup: Lookup = async (name) => dnsLookup(name, { all: true, verbatim: true });

/**
 * A Lookup that asks the given DNS servers (`127.0.0.1:5353`, `[::1]:53`) directly for A and AAAA
 * records, bypassing the hosts file: for `probe.dnsServers`.
 */
export function createDnsLookup(servers: readonly string[], timeoutMs = 2000): Lookup {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([...servers]);
  return async (name) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const out: Array<{ address: string; family: number }> = [];
    if (v4.status === 'fulfilled') for (const a of v4.value) out.push({ address: a, family: 4 });
    if (v6.status === 'fulfilled') for (const a of v6.value) out.push({ address: a, family: 6 });
    if (out.length === 0) throw v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : new Error('no address');
    return out;
  };
}

export class Prober {
  readonly allowlist: Allowlist;
  private readonly cache: LRUCache<string, Cached> | undefined;
  private readonly timeoutMs: number;
  private readonly maxConcurrency: number;
  private readonly maxAddresses: number;
  private readonly maxAttempts: number;
  private readonly lookup: Lookup;
  private readonly dnsTimeoutMs: number;
  private readonly httpGet: HttpGet | undefined;
  private readonly dialer: () => 'raw' | 'net';
  private readonly attemptsTotal: Counter | undefined;
  private readonly scanMs: Histogram | undefined;
  private readonly counters = { scans: 0, attempts: 0, cacheHits: 0, denied: 0 };

  constructor(opts: ProberOptions = {}) {
    this.allowlist = new Allowlist(opts.allowlist ?? DEFAULT_ALLOWLIST);
    this.timeoutMs = bounded(opts.timeoutMs ?? 1000, 1, MAX_TIMEOUT_MS, 'timeoutMs');
    this.maxConcurrency = bounded(opts.maxConcurrency ?? 512, 1, MAX_CONCURRENCY, 'maxConcurrency');
    this.maxAddresses = opts.maxAddresses ?? 256;
    this.maxAttempts = opts.maxAttempts ?? 262_144;
    const ttl = opts.cacheTtlMs ?? 30_000;
    this.cache = ttl > 0 ? new LRUCache<string, Cached>({ max: opts.cacheMaxEntries ?? 100_000, ttl, ttlAutopurge: false }) : undefined;
    this.lookup = opts.lookup ?? systemLookup;
    this.dnsTimeoutMs = opts.dnsTimeoutMs ?? 5000;
    this.httpGet = opts.httpGet;
    this.dialer = opts.dialer ?? (() => 'raw');
    if (opts.metrics) {
      this.attemptsTotal = opts.metrics.counter({ name: 'code_probe_attempts_total', help: 'TCP connect attempts by outcome', labelNames: ['state'] });
      this.scanMs = opts.metrics.histogram({ name: 'code_probe_scan_duration_ms', help: 'Duration of a probe scan', unit: 'ms' });
    }
  }

  /** Resolves and checks every target; throws PROBE_TARGET_DENIED (and sends nothing) if one is not allowed. */
  async plan(targets: readonly string[], ports?: string | readonly number[]): Promise<PlannedTarget[]> {
    if (!Array.isArray(targets) || targets.length === 0) throw new ProbeError('PROBE_TARGET_INVALID', 'give at least one target (e.g. 127.0.0.1 or localhost)', {});
    if (targets.length > this.maxAddresses) throw new ProbeError('PROBE_LIMIT_EXCEEDED', `${targets.length} targets, more than the limit of ${this.maxAddresses}`, { limit: this.maxAddresses });
    const defaultPorts = parsePorts(ports);
    const parsed = targets.map((t) => parseTarget(t));
    const planned: PlannedTarget[] = [];
    const seen = new Set<string>();
    const add = (host: string, address: string, family: 4 | 6, list: readonly number[]): void => {
      const key = `${address}|${list === defaultPorts ? '*' : list.join(',')}`;
      if (seen.has(key)) return;
      seen.add(key);
      planned.push({ host, address, family, ports: list });
    };
    for (const t of parsed) {
      const list = t.kind !== 'cidr' && t.port !== undefined ? [t.port] : defaultPorts;
      if (t.kind === 'ip') {
        this.assertAllowed(t.input, t.address);
        add(t.address, t.address, t.family, list);
      } else if (t.kind === 'cidr') {
        const addresses = expandCidr(t, this.maxAddresses);
        for (const a of addresses) this.assertAllowed(t.input, a);
        for (const a of addresses) add(a, a, t.family, list);
      } else {
        let found: Array<{ address: string; family: number }>;
        let timer: NodeJS.Timeout | undefined;
        try {
          found = await Promise.race([
            this.lookup(t.name),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${this.dnsTimeoutMs} ms`), { code: 'ETIMEOUT' })), this.dnsTimeoutMs);
            }),
          ]);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          const why = e.code === 'ETIMEOUT' && e.message.startsWith('no answer') ? e.message : (e.code ?? e.message);
          throw new ProbeError('PROBE_DNS_FAILED', `cannot resolve "${t.name}" (${why})`, { target: t.name, cause: e.code });
        } finally {
          clearTimeout(timer);
        }
        if (found.length === 0) throw new ProbeError('PROBE_DNS_FAILED', `"${t.name}" resolves to no address`, { target: t.name });
        const addrs = found.map((f) => {
          const address = normalizeAddress(f.address);
          return { address, family: (isIPv4(address) ? 4 : 6) as 4 | 6 };
        });
        for (const a of addrs) this.assertAllowed(t.input, a.address);
        for (const a of addrs) add(t.name, a.address, a.family, list);
      }
      if (planned.length > this.maxAddresses) throw new ProbeError('PROBE_LIMIT_EXCEEDED', `the targets expand to more than ${this.maxAddresses} addresses`, { limit: this.maxAddresses });
    }
    const attempts = planned.reduce((n, p) => n + p.ports.length, 0);
    if (attempts > this.maxAttempts) throw new ProbeError('PROBE_LIMIT_EXCEEDED', `${attempts} address × port attempts, more than the limit of ${this.maxAttempts}`, { limit: this.maxAttempts, attempts });
    return planned;
  }

  private assertAllowed(target: string, address: string): void {
    if (this.allowlist.allows(address)) return;
    this.counters.denied++;
    throw new ProbeError(
      'PROBE_TARGET_DENIED',
      `target ${target}${target === address ? '' : ` (${address})`} is not in the probe allowlist (${this.allowlist.entries.join(', ')}); add it to probe.allowlist to scan it`,
      { target, address, allowlist: this.allowlist.entries },
    );
  }

  async scan(req: ProbeRequest, opts: ScanOptions = {}): Promise<ProbeReport> {
    const t0 = performance.now();
    const timeoutMs = bounded(req.timeoutMs ?? this.timeoutMs, 1, MAX_TIMEOUT_MS, 'timeoutMs');
    // A request may ask for fewer connects in flight than the ceiling (probe.maxConcurrency, lowered
    // under memory pressure), never more.
    const concurrency = Math.min(bounded(req.concurrency ?? this.maxConcurrency, 1, MAX_CONCURRENCY, 'concurrency'), this.maxConcurrency);
    if (req.sourcePort !== undefined) bounded(req.sourcePort, 1, 65535, 'sourcePort');
    const planned = await this.plan(req.targets, req.ports);
    this.counters.scans++;

    // Cached answers first; the rest goes to the engine.
    const cached: Array<Array<Cached | undefined>> = planned.map((p) => p.ports.map((port) => (req.fresh || !this.cache ? undefined : this.cache.get(`${p.address}|${port}|${req.banner ? 1 : 0}`))));
    const jobs: ScanJob[] = [];
    const jobPorts: number[][] = [];
    for (let t = 0; t < planned.length; t++) {
      const p = planned[t]!;
      const missing: number[] = [];
      for (let i = 0; i < p.ports.length; i++) if (cached[t]![i] === undefined) missing.push(p.ports[i]!);
      jobPorts.push(missing);
      jobs.push({ address: p.address, family: p.family, ports: missing.length === p.ports.length ? p.ports : missing });
    }
    const dialer = this.dialer();
    const engine = jobs.some((j) => j.ports.length > 0)
      ? await connectScan(jobs, { timeoutMs, maxConcurrency: concurrency, dialer, ...(req.sourcePort !== undefined ? { sourcePort: req.sourcePort } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) })
      : undefined;
    if (engine && req.sourcePort === undefined) await this.confirmLocalOpens(jobs, engine.states, timeoutMs, dialer, opts.signal);

    const sweep = (engine?.stats.attempts ?? 0) > SWEEP_ATTEMPTS;
    const results: ProbeResult[] = [];
    const summary: ProbeSummary = { open: 0, closed: 0, filtered: 0, durationMs: 0, addresses: planned.length, ports: 0, cached: 0 };
    const portSet = new Set<number>();
    const needBanner: ProbeResult[] = [];
    for (let t = 0; t < planned.length; t++) {
      const p = planned[t]!;
      let k = 0; // index into the engine's job ports
      for (let i = 0; i < p.ports.length; i++) {
        const port = p.ports[i]!;
        portSet.add(port);
        let state: PortState;
        let latencyMs: number;
        let banner: string | undefined;
        const c = cached[t]![i];
        if (c) {
          state = c.state;
          latencyMs = c.latencyMs;
          banner = c.banner;
          summary.cached++;
        } else {
          state = engine!.states[t]![k] as PortState;
          latencyMs = Math.round(engine!.latency[t]![k]! * 1000) / 1000;
          k++;
          this.attemptsTotal?.inc({ state: STATE_NAMES[state]! });
        }
        if (state === PortState.Open) summary.open++;
        else if (state === PortState.Closed) summary.closed++;
        else summary.filtered++;
        if (req.openOnly && state !== PortState.Open) {
          if (!c) this.remember(p.address, port, req, state, latencyMs, undefined, sweep);
          continue;
        }
        const r: ProbeResult = { host: p.host, address: p.address, port, state: STATE_NAMES[state]!, service: serviceForPort(port), latencyMs };
        if (banner !== undefined) {
          r.banner = banner;
          r.service = serviceFromBanner(banner) ?? r.service;
        }
        results.push(r);
        if (!c) {
          if (state === PortState.Open && req.banner) needBanner.push(r);
          else this.remember(p.address, port, req, state, latencyMs, undefined, sweep);
        }
      }
    }
    this.counters.attempts += engine?.stats.attempts ?? 0;
    this.counters.cacheHits += summary.cached;

    if (needBanner.length > 0) {
      await eachLimited(needBanner, 32, async (r) => {
        const b = await readBanner(r.address, r.port, req.bannerTimeoutMs ?? 300, opts.signal);
        if (b) {
          r.banner = b;
          r.service = serviceFromBanner(b) ?? r.service;
        }
        this.remember(r.address, r.port, req, PortState.Open, r.latencyMs, b, false);
      });
    }
    if (req.http) {
      const path = checkPath(req.http.path);
      await eachLimited(results.filter((r) => r.state === 'open'), 16, async (r) => {
        r.http = await this.httpCheck(r.address, r.port, path, timeoutMs, opts.signal);
      });
    }
    summary.ports = portSet.size;
    summary.durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
    this.scanMs?.record(summary.durationMs);
    return { results, summary, engine: engine?.stats };
  }

  /**
   * An open loopback port inside the ephemeral range may be one of our own sockets seen mid-scan (a
   * cross-connect the engine could not pair up) or a listener that just went away. Ask once more,
   * now that the scan's sockets are gone; it costs one connect per such port.
   */
  private async confirmLocalOpens(jobs: readonly ScanJob[], states: Uint8Array[], timeoutMs: number, dialer: 'raw' | 'net', signal?: AbortSignal): Promise<void> {
    const again: ScanJob[] = [];
    const where: Array<{ job: number; idx: number[] }> = [];
    jobs.forEach((j, ji) => {
      if (!isLoopback(j.address)) return;
      const idx: number[] = [];
      j.ports.forEach((port, pi) => {
        if (states[ji]![pi] === PortState.Open && port >= EPHEMERAL[0] && port <= EPHEMERAL[1]) idx.push(pi);
      });
      if (idx.length > 0) {
        again.push({ address: j.address, family: j.family, ports: idx.map((pi) => j.ports[pi]!) });
        where.push({ job: ji, idx });
      }
    });
    if (again.length === 0) return;
    const second = await connectScan(again, { timeoutMs, maxConcurrency: 16, dialer, ...(signal ? { signal } : {}) });
    where.forEach((w, k) => w.idx.forEach((pi, n) => (states[w.job]![pi] = second.states[k]![n]!)));
  }

  private remember(address: string, port: number, req: ProbeRequest, state: PortState, latencyMs: number, banner: string | undefined, sweep: boolean): void {
    // A sweep (more than SWEEP_ATTEMPTS attempts) caches what it found, not the tens of thousands of
    // closed ports: they are cheap to learn again and would push every useful entry out of the LRU.
    if (sweep && state === PortState.Closed) return;
    this.cache?.set(`${address}|${port}|${req.banner ? 1 : 0}`, { state, latencyMs, banner });
  }

  /**
   * GET `path` on address:port through the injected client. Never throws: a failure is a result.
   * The address must be allowed (it is when it came out of `scan` or `plan`).
   */
  async httpCheck(address: string, port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpCheckResult> {
    this.assertAllowed(address, normalizeAddress(address));
    const t0 = performance.now();
    if (!this.httpGet) return { ok: false, status: null, latencyMs: 0, error: 'no HTTP client configured' };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const onAbort = (): void => ctl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const host = address.includes(':') ? `[${address}]` : address;
      const res = await this.httpGet(`http://${host}:${port}${checkPath(path)}`, { signal: ctl.signal, timeoutMs });
      const latencyMs = round(performance.now() - t0);
      return { ok: res.status >= 200 && res.status < 400, status: res.status, latencyMs };
    } catch (err) {
      const latencyMs = round(performance.now() - t0);
      return { ok: false, status: null, latencyMs, error: ctl.signal.aborted ? `no answer within ${timeoutMs} ms` : String((err as Error).message ?? err).slice(0, 200) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A plain snapshot for the dashboard and the memory monitor. */
  stats(): { scans: number; attempts: number; cacheHits: number; denied: number; cacheEntries: number; allowlist: readonly string[] } {
    return { ...this.counters, cacheEntries: this.cache?.size ?? 0, allowlist: this.allowlist.entries };
  }

  clearCache(): void {
    this.cache?.clear();
  }
}

function bounded(v: number, min: number, max: number, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ProbeError('PROBE_LIMIT_EXCEEDED', `${name} must be an integer from ${min} to ${max}, got ${String(v)}`, { [name]: v, min, max });
  }
  return v;
}

function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 2048 || /[\s\0]/.test(path)) {
    throw new ProbeError('PROBE_TARGET_INVALID', `HTTP check path must start with "/" and hold no spaces, got ${JSON.stringify(String(path).slice(0, 80))}`, {});
  }
  return path;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The first bytes an open port sends unprompted, within `timeoutMs`; undefined when it stays silent. */
export function readBanner(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = new Socket();
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      s.destroy();
      resolve(size > 0 ? cleanBanner(Buffer.concat(chunks).subarray(0, 256)) || undefined : undefined);
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener('abort', done, { once: true });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size >= 256) done();
    });
    s.once('error', done);
    s.once('end', done);
    s.connect({ host: address, port });
  });
}
