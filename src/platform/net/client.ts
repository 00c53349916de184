/**
 * The HTTP client every outbound call of CODE goes through (expert providers, webhooks, health
 * checks): undici pools per origin, a total connection cap, keep-alive kept below the server's,
 * connect / headers / body timeouts, HTTP/2 behind a run-time switch, gzip / brotli / deflate
 * decompression, retries of idempotent requests, a circuit breaker per origin and metrics per origin.
 *
 *   const http = new HttpClient({ metrics, http2: () => flags.enabled('net.http2') });
 *   const res = await http.request('http://127.0.0.1:8080/v1/things', { timeoutMs: 5_000 });
 *   const things = await res.json();             // size-limited, decompressed
 *   const data = await http.getJson('https://api.example.com/x');   // throws NET_HTTP_STATUS on >= 400
 *
 * Order of the policies around one request: retry (idempotent requests only, backoff with full jitter,
 * honours Retry-After) → the origin's circuit breaker → one attempt (undici's timeouts, plus one
 * immediate replay when a reused keep-alive socket turns out to be closed by the server).
 */
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher, Pool } from 'undici';
import type { Counter, Histogram, Labels, MetricsRegistry } from '../metrics/types.js';
import { CircuitBreaker } from '../resilience/breaker.js';
import type { BreakerStats, CircuitBreakerOptions } from '../resilience/breaker.js';
import { sleep } from '../resilience/context.js';
import { isResilienceError } from '../resilience/errors.js';
import { Gate } from '../resilience/gate.js';
import { backoffDelay, parseRetryAfter } from '../resilience/retry.js';
import { batch } from './batch.js';
import type { BatchOptions, Settled } from './batch.js';
import { NetError, isNetError } from './errors.js';
import type { NetErrorCode } from './errors.js';

// undici (with its fetch, WebSocket and cache code) is loaded at the first request, not at start-up:
// an idle engine that never calls out does not carry it (a measurable share of its idle RSS).
let PoolClass: typeof Pool | undefined;
let undiciLoading: Promise<unknown> | undefined;
function loadUndici(): Promise<unknown> {
  undiciLoading ??= import('undici').then((m) => (PoolClass = m.Pool));
  return undiciLoading;
}

/** The `net.http2` switch: a constant, a function read per request, or a flags object (`enabled('net.http2')`). */
export type Http2Switch = boolean | (() => boolean) | { enabled(name: string): boolean };

export interface HttpClientOptions {
  /** Names this client in metrics (`client` label) and in its breakers. Default "http". */
  name?: string;
  /** Connections kept per origin. Default 16. */
  connectionsPerOrigin?: number;
  /** Requests in flight across all origins (each holds one connection until its body is read). Default 256. */
  maxConnections?: number;
  /** Requests waiting for one of `maxConnections`; one more fails with RESILIENCE_BULKHEAD_FULL. Default 1 024. */
  maxQueue?: number;
  /** A request waits at most this long for a connection slot. Default 10 000 ms. */
  maxQueueWaitMs?: number;
  /** Distinct origins with a pool; the least recently used pool is closed (gracefully) beyond. Default 256. */
  maxOrigins?: number;
  /**
   * Idle keep-alive sockets close after at most this long; sooner when the server announces a shorter
   * `Keep-Alive: timeout` (minus the threshold below), so the client always closes first. Default 4 000 ms
   * (Node servers keep 5 000).
   */
  keepAliveTimeoutMs?: number;
  /** Subtracted from a server-announced keep-alive timeout, so we close first. Default 1 000 ms. */
  keepAliveTimeoutThresholdMs?: number;
  /** TCP (+TLS) connect timeout. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Time to the response headers. Default 30 000 ms. */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks. Default 30 000 ms. */
  bodyTimeoutMs?: number;
  /** Overall per-request timeout (all attempts, to the headers) when a request gives none. Default 0: none. */
  timeoutMs?: number;
  /** Largest response body `text()` / `json()` / `bytes()` read, after decompression. Default 16 MiB. */
  maxResponseBytes?: number;
  /** HTTP/2 (ALPN over TLS) when this says so; read per request, so it can be switched at run time. Default false. */
  http2?: Http2Switch;
  /** With HTTP/2 on, speak h2c (prior knowledge) to http:// origins too. Only for servers known to accept it. Default false. */
  http2Cleartext?: boolean;
  /** Ask for gzip / deflate / br and decompress transparently. Default true. */
  decompress?: boolean;
  /** Retries of idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or `idempotent: true`). */
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number; maxElapsedMs?: number; random?: () => number };
  /** Per-origin circuit breaker options, or false for none. Default: the breaker defaults. */
  breaker?: false | Omit<CircuitBreakerOptions, 'name' | 'metrics' | 'exclude' | 'fallback'>;
  /** TLS options for https origins (a private CA in tests, mTLS). */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** Per-origin metrics go here (`code_net_*`); breakers report too. */
  metrics?: MetricsRegistry;
  /** Sent as User-Agent when a request gives none. */
  userAgent?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[] | undefined>;
  /** A string, bytes or a stream (a stream body is never replayed, so never retried). */
  body?: string | Uint8Array | Readable | null;
  /** Serialised as the JSON body, with `content-type: application/json`. */
  json?: unknown;
  signal?: AbortSignal;
  /** Overall timeout for this request (all attempts, until the headers). */
  timeoutMs?: number;
  /** Override: may this request be sent twice? Default by method. */
  idempotent?: boolean;
  /** Attempts in all for this request (1 disables retries). Default the client's. */
  maxAttempts?: number;
  /** Limit for `text()` / `json()` / `bytes()` of this response. */
  maxResponseBytes?: number;
  /** Decompress this response. Default the client's. */
  decompress?: boolean;
  /** Time to the headers for this request (an LLM answering unstreamed takes minutes). Default the client's. */
  headersTimeoutMs?: number;
  /** Longest body silence for this request. Default the client's. */
  bodyTimeoutMs?: number;
  /** False: bypass the origin's breaker (a caller with its own breaker per provider). Default true. */
  breaker?: boolean;
}

export interface OriginStats {
  origin: string;
  protocol: 'http/1.1' | 'h2' | 'h2c';
  connected: number;
  free: number;
  pending: number;
  queued: number;
  running: number;
  requests: number;
  errors: number;
  retries: number;
  staleSocketReplays: number;
  breaker: BreakerStats | undefined;
}

export interface HttpClientStats {
  origins: OriginStats[];
  inFlight: number;
  queued: number;
  maxConnections: number;
  rejected: number;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Statuses worth another attempt of an idempotent request. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);
/** Errors of a socket that died under a request before any response: a closed keep-alive socket. */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const MAX_URL_LENGTH = 16_384;
/** Split URLs remembered per client (cleared whole when full: cheap, and bounded). */
const MAX_REMEMBERED_URLS = 1_024;
const NO_OPTIONS: RequestOptions = Object.freeze({});
const noop = (): void => {};
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Thrown inside the policies for a status the breaker or the retry must see; unwrapped to a response at the end. */
class StatusFailure extends NetError {
  constructor(
    readonly response: Dispatcher.ResponseData,
    readonly retryAfterMs: number | undefined,
    origin: string,
    method: string,
  ) {
    super('NET_HTTP_STATUS', `${method} ${origin} answered ${response.statusCode}`, { origin, method, status: response.statusCode, retryAfterMs });
  }
}

interface Target {
  st: OriginState;
  path: string;
}

interface OriginState {
  key: string;
  /** Set when its pool was closed to make room: remembered targets pointing here are stale. */
  evicted: boolean;
  origin: string;
  secure: boolean;
  h1: Pool | undefined;
  h2: Pool | undefined;
  breaker: CircuitBreaker | undefined;
  labels: Labels;
  byClass: Labels[]; // index: status / 100 (0 = transport error)
  backoffLabels: Labels;
  staleLabels: Labels;
  requests: number;
  errors: number;
  retries: number;
  staleSocketReplays: number;
  /** Use sequence number, for least-recently-used eviction. */
  lastUsed: number;
}

interface Instruments {
  duration: Histogram;
  requests: Counter;
  errors: Counter;
  poolWait: Histogram;
  retries: Counter;
  /** Every client recording into this registry: the gauges read them all. */
  clients: Set<HttpClient>;
}

// Instruments are made once per registry: several clients (the engine's, a capability's private one)
// can share a registry, and a callback gauge cannot be declared twice.
const instrumentsByRegistry = new WeakMap<MetricsRegistry, Instruments>();

function instrumentsFor(m: MetricsRegistry): Instruments {
  const found = instrumentsByRegistry.get(m);
  if (found) return found;
  const clients = new Set<HttpClient>();
  const made: Instruments = {
    clients,
    duration: m.histogram({ name: 'code_net_request_duration_ms', help: 'Outbound HTTP time to response headers, per client and origin', labelNames: ['client', 'origin'], unit: 'ms' }),
    requests: m.counter({ name: 'code_net_requests_total', help: 'Outbound HTTP responses by client, origin and status class (error: no response)', labelNames: ['client', 'origin', 'class'] }),
    errors: m.counter({ name: 'code_net_errors_total', help: 'Outbound HTTP failures by client, origin and error code', labelNames: ['client', 'origin', 'code'] }),
    poolWait: m.histogram({ name: 'code_net_pool_wait_ms', help: 'Time an outbound request waited for a connection slot (the total cap)', labelNames: ['client', 'origin'], unit: 'ms' }),
    retries: m.counter({ name: 'code_net_retries_total', help: 'Outbound HTTP retries by client, origin and kind (backoff, stale-socket)', labelNames: ['client', 'origin', 'kind'] }),
  };
  m.gaugeCallback({
    name: 'code_net_pool_connections',
    help: 'Connections of each origin pool by state: connected, free, running (requests on the wire), pending (queued in the pool)',
    labelNames: ['client', 'origin', 'state'],
    collect: () => {
      const out: Array<{ labels: Labels; value: number }> = [];
      for (const c of clients) {
        for (const s of c.stats().origins) {
          for (const state of ['connected', 'free', 'running', 'pending'] as const) out.push({ labels: { client: c.name, origin: s.origin, state }, value: s[state] });
        }
      }
      return out;
    },
  });
  m.gaugeCallback({
    name: 'code_net_utilisation_ratio',
    help: 'Requests in flight over the total connection cap (net.maxConnections), per client',
    labelNames: ['client'],
    collect: () => [...clients].map((c) => {
      const s = c.stats();
      return { labels: { client: c.name }, value: s.inFlight / s.maxConnections };
    }),
  });
  m.gaugeCallback({
    name: 'code_net_queued_requests',
    help: 'Outbound requests waiting for a connection slot, per client',
    labelNames: ['client'],
    collect: () => [...clients].map((c) => ({ labels: { client: c.name }, value: c.stats().queued })),
  });
  instrumentsByRegistry.set(m, made);
  return made;
}

function checkOption(key: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || !Number.isInteger(v)) {
    throw new NetError('NET_OPTIONS_INVALID', `http client: option ${key} must be an integer between ${min} and ${max}, got ${String(v)}`, { key, value: String(v), min, max });
  }
  return v;
}

export class HttpClient {
  readonly name: string;
  private readonly origins = new Map<string, OriginState>();
  private readonly targets = new Map<string, Target>();
  private readonly gate: Gate;
  private readonly retryOptions: { baseDelayMs: number; maxDelayMs: number; maxElapsedMs: number; random: () => number };
  private readonly defaultAttempts: number;
  private readonly poolOptions: Pool.Options;
  private readonly h2Switch: () => boolean;
  private readonly h2c: boolean;
  private readonly decompress: boolean;
  private readonly maxResponseBytes: number;
  private readonly timeoutMs: number;
  private readonly connectionsPerOrigin: number;
  private readonly maxOrigins: number;
  private readonly breakerOptions: HttpClientOptions['breaker'];
  private readonly metrics: MetricsRegistry | undefined;
  private readonly instruments: Instruments | undefined;
  private readonly baseHeaders: Record<string, string>;
  private closed = false;
  private useCounter = 0;
  private readonly releaseSlot = (): void => this.gate.release();

  constructor(options: HttpClientOptions = {}) {
    this.name = options.name ?? 'http';
    this.connectionsPerOrigin = checkOption('connectionsPerOrigin', options.connectionsPerOrigin, 16, 1, 4_096);
    const maxConnections = checkOption('maxConnections', options.maxConnections, 256, 1, 65_536);
    this.gate = new Gate('http client connections', maxConnections, checkOption('maxQueue', options.maxQueue, 1_024, 0, 1_000_000), checkOption('maxQueueWaitMs', options.maxQueueWaitMs, 10_000, 0, 3_600_000), 'RESILIENCE_BULKHEAD_FULL');
    this.maxOrigins = checkOption('maxOrigins', options.maxOrigins, 256, 1, 100_000);
    this.timeoutMs = checkOption('timeoutMs', options.timeoutMs, 0, 0, 86_400_000);
    this.maxResponseBytes = checkOption('maxResponseBytes', options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES, 0, 2 ** 31 - 1);
    const keepAliveTimeout = checkOption('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 4_000, 1, 3_600_000);
    this.poolOptions = {
      connections: this.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout,
      // undici takes the server's Keep-Alive hint (minus the threshold) over keepAliveTimeout, capped
      // by keepAliveMaxTimeout: capping at ours makes ours the upper bound, never a server's longer one.
      keepAliveMaxTimeout: keepAliveTimeout,
      keepAliveTimeoutThreshold: checkOption('keepAliveTimeoutThresholdMs', options.keepAliveTimeoutThresholdMs, 1_000, 0, 60_000),
      connectTimeout: checkOption('connectTimeoutMs', options.connectTimeoutMs, 5_000, 1, 600_000),
      headersTimeout: checkOption('headersTimeoutMs', options.headersTimeoutMs, 30_000, 1, 3_600_000),
      bodyTimeout: checkOption('bodyTimeoutMs', options.bodyTimeoutMs, 30_000, 1, 3_600_000),
      ...(options.tls ? { connect: { ...options.tls } } : {}),
    };
    const sw = options.http2 ?? false;
    this.h2Switch = typeof sw === 'boolean' ? () => sw : typeof sw === 'function' ? sw : () => sw.enabled('net.http2');
    this.h2c = options.http2Cleartext ?? false;
    this.decompress = options.decompress ?? true;
    const r = options.retry ?? {};
    this.defaultAttempts = checkOption('retry.maxAttempts', r.maxAttempts, 3, 1, 20);
    this.retryOptions = {
      baseDelayMs: checkOption('retry.baseDelayMs', r.baseDelayMs, 100, 0, 600_000),
      maxDelayMs: checkOption('retry.maxDelayMs', r.maxDelayMs, 10_000, 0, 3_600_000),
      maxElapsedMs: checkOption('retry.maxElapsedMs', r.maxElapsedMs, 30_000, 0, 86_400_000),
      random: r.random ?? Math.random,
    };
    this.breakerOptions = options.breaker;
    // Bad breaker options fail here, at start, not at the first request to some origin.
    if (options.breaker !== false) new CircuitBreaker({ ...options.breaker, name: `${this.name} (options check)` });
    this.metrics = options.metrics;
    this.baseHeaders = {
      ...(this.decompress ? { 'accept-encoding': 'gzip, deflate, br' } : {}),
      ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
    };
    if (options.metrics) {
      const shared = instrumentsFor(options.metrics);
      shared.clients.add(this);
      this.instruments = shared;
    }
  }

  /**
   * Sends one request and resolves with the response at its headers, whatever the status (after
   * retries of idempotent requests on 408/429/502/503/504 and transport errors). Read or `dump()`
   * the body: the connection slot is held until it ends.
   */
  async request(url: string | URL, options: RequestOptions = NO_OPTIONS): Promise<HttpResponse> {
    if (this.closed) throw new NetError('NET_CLOSED', 'http client is closed');
    if (PoolClass === undefined) await loadUndici();
    const { st, path } = this.resolve(url);
    const method = options.method ?? 'GET';
    let headers: Record<string, string | string[] | undefined> = options.headers ? { ...this.baseHeaders, ...options.headers } : this.baseHeaders;
    let body: string | Uint8Array | Readable | null | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers = { ...headers, 'content-type': 'application/json' };
    }
    const replayable = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    const canRetry = replayable && (options.idempotent ?? IDEMPOTENT_METHODS.has(method));
    const attempts = !canRetry ? 1 : options.maxAttempts === undefined ? this.defaultAttempts : checkOption('maxAttempts', options.maxAttempts, 1, 1, 20);
    const headersTimeout = options.headersTimeoutMs === undefined ? undefined : checkOption('headersTimeoutMs', options.headersTimeoutMs, 0, 1, 3_600_000);
    const bodyTimeout = options.bodyTimeoutMs === undefined ? undefined : checkOption('bodyTimeoutMs', options.bodyTimeoutMs, 0, 1, 3_600_000);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = timeoutMs > 0 ? new Deadline(timeoutMs, options.signal, method, st.origin) : undefined;
    const signal = deadline ? deadline.signal : options.signal;

    const slot = this.gate.acquire(signal);
    if (slot !== true) {
      const t0 = performance.now();
      try {
        await slot;
      } catch (err) {
        deadline?.clear();
        throw err;
      }
      this.instruments?.poolWait.record(performance.now() - t0, st.labels);
    }
    st.lastUsed = ++this.useCounter;
    st.requests++;
    // Retry (idempotent requests only: backoff with full jitter, at least Retry-After) around the
    // origin's breaker around one attempt. Written inline, with the breaker's permit form: a promise
    // or an async frame per layer is measurable at this rate.
    // undici listens on a given signal per request: hand it only a signal somebody can abort.
    const opts: Dispatcher.RequestOptions = signal === undefined ? { path, method, headers, body } : { path, method, headers, body, signal };
    if (headersTimeout !== undefined) opts.headersTimeout = headersTimeout;
    if (bodyTimeout !== undefined) opts.bodyTimeout = bodyTimeout;
    const breaker = options.breaker === false ? undefined : st.breaker;
    const started = attempts > 1 ? Date.now() : 0;
    let res: Dispatcher.ResponseData;
    try {
      for (let attempt = 1; ; attempt++) {
        const more = attempt < attempts;
        if (attempt > 1) {
          st.retries++;
          this.instruments?.retries.inc(st.backoffLabels);
        }
        const permit = breaker === undefined ? 0 : breaker.admit();
        try {
          if (permit < 0) throw breaker!.refusal();
          const t0 = this.instruments === undefined ? 0 : performance.now();
          try {
            try {
              res = await this.pool(st).request(opts);
            } catch (err) {
              // The server closed a kept-alive socket as we reused it: nothing was processed, so an
              // idempotent request goes again at once on a fresh connection (not counted as an attempt).
              if (!canRetry || signal?.aborted || !STALE_SOCKET_CODES.has((err as { code?: string }).code ?? '')) throw err;
              st.staleSocketReplays++;
              this.instruments?.retries.inc(st.staleLabels);
              res = await this.pool(st).request(opts);
            }
          } catch (err) {
            // Mapped before the breaker sees it, so it can tell a caller abort (not counted) from a failure.
            // The caller's own signal decides "aborted", whatever reason it carries; the deadline's
            // signal carries our NET_TIMEOUT.
            throw toNetError(deadline?.signal.aborted && !options.signal?.aborted ? deadline.signal.reason : err, st.origin, method, options.signal);
          }
          if (this.instruments !== undefined) this.instruments.duration.record(performance.now() - t0, st.labels);
          const status = res.statusCode;
          if (status >= 500 || (more && RETRY_STATUSES.has(status))) throw new StatusFailure(res, parseRetryAfter(res.headers['retry-after']), st.origin, method);
          breaker?.succeeded(permit);
          break;
        } catch (err) {
          if (permit >= 0) breaker?.failed(permit, err);
          if (!more || signal?.aborted || !isRetriable(err)) throw err;
          const retryAfter = err instanceof StatusFailure ? err.retryAfterMs : undefined;
          const r = this.retryOptions;
          const delayMs = Math.max(retryAfter ?? 0, backoffDelay(attempt, r.baseDelayMs, r.maxDelayMs, r.random));
          if (Date.now() + delayMs - started > r.maxElapsedMs) throw err;
          // The connection of the failed attempt is freed before the wait.
          if (err instanceof StatusFailure) err.response.body.resume().on('error', noop);
          await sleep(delayMs, signal);
        }
      }
    } catch (err) {
      deadline?.clear();
      // A 5xx (or a retriable status on the last attempt) travelled as an error through the breaker
      // and the retries; the caller gets it as the response it is.
      if (err instanceof StatusFailure) return this.respond(err.response, st, options);
      this.gate.release();
      throw this.failure(err, st, method, options.signal);
    }
    deadline?.clear();
    return this.respond(res, st, options);
  }

  /** GET (by default) and parse JSON; a status >= 400 throws NET_HTTP_STATUS with status and Retry-After in details. */
  async getJson<T = unknown>(url: string | URL, options: RequestOptions = NO_OPTIONS): Promise<T> {
    const res = await this.request(url, options);
    await res.throwIfError();
    return res.json() as Promise<T>;
  }

  /** GET (by default) and read the body as text; a status >= 400 throws NET_HTTP_STATUS. */
  async getText(url: string | URL, options: RequestOptions = NO_OPTIONS): Promise<string> {
    const res = await this.request(url, options);
    await res.throwIfError();
    return res.text();
  }

  /**
   * Sends many requests with bounded concurrency; settled results in input order (see `batch`).
   * Each item's body is read as text, so connections are freed as items finish.
   */
  batch(
    requests: Iterable<{ url: string | URL } & RequestOptions>,
    options: BatchOptions = {},
  ): Promise<Array<Settled<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>>> {
    return batch(
      requests,
      async (req, { signal }) => {
        const res = await this.request(req.url, { ...req, signal });
        return { status: res.status, headers: res.headers, body: await res.text() };
      },
      options,
    );
  }

  stats(): HttpClientStats {
    const origins: OriginStats[] = [];
    for (const st of this.origins.values()) {
      const pools = [st.h1, st.h2].filter((p): p is Pool => p !== undefined);
      const sum = { connected: 0, free: 0, pending: 0, queued: 0, running: 0 };
      for (const p of pools) {
        const s = p.stats;
        sum.connected += s.connected;
        sum.free += s.free;
        sum.pending += s.pending;
        sum.queued += s.queued;
        sum.running += s.running;
      }
      origins.push({
        origin: st.origin,
        protocol: st.h2 && this.wantsH2(st) ? (st.secure ? 'h2' : 'h2c') : 'http/1.1',
        ...sum,
        requests: st.requests,
        errors: st.errors,
        retries: st.retries,
        staleSocketReplays: st.staleSocketReplays,
        breaker: st.breaker?.stats(),
      });
    }
    const g = this.gate.gateStats();
    return { origins, inFlight: g.active, queued: g.queued, maxConnections: g.limit, rejected: g.rejected };
  }

  /** The breaker of one origin (created on first use), e.g. to isolate a misbehaving provider. */
  breakerFor(url: string | URL): CircuitBreaker | undefined {
    return this.resolve(url).st.breaker;
  }

  /** Waits for requests in flight, then closes every connection. Later requests fail with NET_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.instruments?.clients.delete(this);
    const pools: Pool[] = [];
    for (const st of this.origins.values()) {
      if (st.h1) pools.push(st.h1);
      if (st.h2) pools.push(st.h2);
      st.breaker?.dispose();
    }
    this.origins.clear();
    this.targets.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
  }

  // ---- internals -------------------------------------------------------------------------------

  private resolve(url: string | URL): Target {
    let href: string;
    if (typeof url === 'string') href = url;
    else if (url instanceof URL) href = url.href;
    else throw new NetError('NET_URL_INVALID', 'request URL must be a string or a URL', { got: typeof url });
    // Callers repeat their URLs (a provider endpoint, a health check): a split URL is remembered.
    const known = this.targets.get(href);
    if (known !== undefined && !known.st.evicted) return known;
    if (href.length > MAX_URL_LENGTH) throw new NetError('NET_URL_INVALID', `request URL is longer than ${MAX_URL_LENGTH} characters`, { length: href.length });
    // Split "scheme://authority/path" without a URL parse per request; the origin is parsed (and
    // validated) once, when its pool is created.
    const schemeEnd = href.indexOf('://');
    const slash = schemeEnd < 0 ? -1 : href.indexOf('/', schemeEnd + 3);
    let key = slash < 0 ? href : href.slice(0, slash);
    let path = slash < 0 ? '/' : href.slice(slash);
    if (slash < 0) {
      // "http://host?x" or "http://host#x": the query starts the path.
      const q = key.indexOf('?');
      const h = key.indexOf('#');
      const cut = q < 0 ? h : h < 0 ? q : Math.min(q, h);
      if (cut >= 0) {
        path = '/' + key.slice(cut);
        key = key.slice(0, cut);
      }
    }
    const hash = path.indexOf('#');
    if (hash >= 0) path = path.slice(0, hash);
    const st = this.origins.get(key) ?? this.addOrigin(key, href);
    const target: Target = { st, path };
    if (this.targets.size >= MAX_REMEMBERED_URLS) this.targets.clear();
    this.targets.set(href, target);
    return target;
  }

  private addOrigin(key: string, href: string): OriginState {
    let parsed: URL;
    try {
      parsed = new URL(key);
    } catch {
      throw new NetError('NET_URL_INVALID', `not a valid URL: ${redact(href)}`, { url: redact(href) });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new NetError('NET_URL_INVALID', `only http: and https: URLs are supported, got ${parsed.protocol}`, { protocol: parsed.protocol });
    }
    if (parsed.username || parsed.password) {
      throw new NetError('NET_URL_INVALID', 'credentials in the URL are not supported: send an Authorization header', { origin: parsed.origin });
    }
    if (this.origins.size >= this.maxOrigins) this.evictOldest();
    const origin = parsed.origin;
    const st: OriginState = {
      key,
      evicted: false,
      origin,
      secure: parsed.protocol === 'https:',
      h1: undefined,
      h2: undefined,
      breaker:
        this.breakerOptions === false
          ? undefined
          : new CircuitBreaker({
              ...this.breakerOptions,
              name: `${this.name} ${origin}`,
              ...(this.metrics ? { metrics: this.metrics } : {}),
              // A caller giving up, a bad request or "slow down" says nothing about the origin's health.
              exclude: (err) => (err instanceof StatusFailure ? err.response.statusCode < 500 : isNetError(err, 'NET_ABORTED') || isNetError(err, 'NET_REQUEST_INVALID') || isNetError(err, 'NET_TIMEOUT')),
            }),
      labels: { client: this.name, origin },
      byClass: ['error', '1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => ({ client: this.name, origin, class: c })),
      backoffLabels: { client: this.name, origin, kind: 'backoff' },
      staleLabels: { client: this.name, origin, kind: 'stale-socket' },
      requests: 0,
      errors: 0,
      retries: 0,
      staleSocketReplays: 0,
      lastUsed: ++this.useCounter,
    };
    this.origins.set(key, st);
    return st;
  }

  private evictOldest(): void {
    let oldest: OriginState | undefined;
    for (const st of this.origins.values()) if (!oldest || st.lastUsed < oldest.lastUsed) oldest = st;
    if (!oldest) return;
    this.origins.delete(oldest.key);
    oldest.evicted = true;
    oldest.breaker?.dispose();
    // close() lets requests in flight finish before the sockets go.
    oldest.h1?.close().catch(() => {});
    oldest.h2?.close().catch(() => {});
  }

  private wantsH2(st: OriginState): boolean {
    return (st.secure || this.h2c) && this.h2Switch();
  }

  private pool(st: OriginState): Pool {
    if (this.wantsH2(st)) {
      if (!st.h2) {
        // Over TLS, ALPN may still pick HTTP/1.1: keep one request per connection (no pipelining).
        // h2c is HTTP/2 by prior knowledge, so streams multiplex on each connection.
        const h2c = st.secure ? {} : { connect: { ...(this.poolOptions.connect as object | undefined), useH2c: true }, pipelining: 100 };
        st.h2 = new PoolClass!(st.origin, { ...this.poolOptions, allowH2: true, ...h2c } as Pool.Options);
      }
      return st.h2;
    }
    if (!st.h1) st.h1 = new PoolClass!(st.origin, this.poolOptions);
    return st.h1;
  }

  private respond(res: Dispatcher.ResponseData, st: OriginState, options: RequestOptions): HttpResponse {
    const cls = (res.statusCode / 100) | 0;
    this.instruments?.requests.inc(st.byClass[cls] ?? st.byClass[0]);
    // The slot (one of maxConnections) is held until the body is done: read, dumped or destroyed.
    // undici's body stream always closes (autoDestroy), whatever way it ends.
    res.body.on('close', this.releaseSlot);
    return new HttpResponse(res, st.origin, options.method ?? 'GET', options.maxResponseBytes ?? this.maxResponseBytes, options.decompress ?? this.decompress);
  }

  private failure(err: unknown, st: OriginState, method: string, callerSignal: AbortSignal | undefined): unknown {
    const mapped = toNetError(err, st.origin, method, callerSignal);
    st.errors++;
    if (this.instruments) {
      this.instruments.requests.inc(st.byClass[0]);
      this.instruments.errors.inc({ client: this.name, origin: st.origin, code: (mapped as { code?: string }).code ?? 'unknown' });
    }
    return mapped;
  }
}

function isRetriable(err: unknown): boolean {
  if (err instanceof StatusFailure) return RETRY_STATUSES.has(err.response.statusCode);
  return isNetError(err, 'NET_CONNECT_FAILED') || isNetError(err, 'NET_CONNECT_TIMEOUT') || isNetError(err, 'NET_HEADERS_TIMEOUT');
}

const UNDICI_CODES: Record<string, NetErrorCode> = {
  UND_ERR_CONNECT_TIMEOUT: 'NET_CONNECT_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'NET_HEADERS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'NET_BODY_TIMEOUT',
  UND_ERR_SOCKET: 'NET_CONNECT_FAILED',
  UND_ERR_CLOSED: 'NET_CLOSED',
  UND_ERR_DESTROYED: 'NET_CLOSED',
  UND_ERR_INVALID_ARG: 'NET_REQUEST_INVALID',
  UND_ERR_NOT_SUPPORTED: 'NET_REQUEST_INVALID',
  UND_ERR_HEADERS_OVERFLOW: 'NET_RESPONSE_TOO_LARGE',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'NET_RESPONSE_TOO_LARGE',
  ECONNREFUSED: 'NET_CONNECT_FAILED',
  ECONNRESET: 'NET_CONNECT_FAILED',
  EPIPE: 'NET_CONNECT_FAILED',
  ENOTFOUND: 'NET_CONNECT_FAILED',
  EAI_AGAIN: 'NET_CONNECT_FAILED',
  EHOSTUNREACH: 'NET_CONNECT_FAILED',
  ENETUNREACH: 'NET_CONNECT_FAILED',
  ETIMEDOUT: 'NET_CONNECT_TIMEOUT',
};

/** Maps an undici / socket / abort error to a NetError; errors of the policies and NetErrors pass through. */
function toNetError(err: unknown, origin: string, method: string, callerSignal: AbortSignal | undefined): unknown {
  // The caller's abort first: its reason may itself be a typed error (an outer policy's timeout), and
  // passing that through would count the caller's decision against the origin's breaker.
  if (callerSignal?.aborted) {
    if (isNetError(err, 'NET_ABORTED')) return err;
    return new NetError('NET_ABORTED', `${method} ${origin}: cancelled by the caller`, { origin, method }, { cause: callerSignal.reason ?? err });
  }
  if (isNetError(err) || isResilienceError(err)) return err;
  const e = err as { code?: string; message?: string; name?: string };
  let code = e.code !== undefined ? UNDICI_CODES[e.code] : undefined;
  if (code === undefined && (e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED' || e.code === 'UND_ERR_ABORT')) code = 'NET_ABORTED';
  if (code === undefined && typeof e.code === 'string' && e.code.startsWith('HPE_')) code = 'NET_CONNECT_FAILED';
  if (code === undefined && typeof e.code === 'string' && /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(e.code)) code = 'NET_CONNECT_FAILED';
  if (code === undefined) return err;
  return new NetError(code, `${method} ${origin}: ${e.message ?? String(err)}`, { origin, method, cause: e.code }, { cause: err });
}

/** A URL fit for an error message: no credentials, no query string. */
function redact(href: string): string {
  const cut = href.search(/[?#]/);
  const base = cut >= 0 ? href.slice(0, cut) : href;
  return base.replace(/\/\/[^/@]*@/, '//').slice(0, 200);
}

const utf8 = (b: Buffer): string => b.toString('utf8');

/** The overall timeout of one request, linked to the caller's signal. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly caller: AbortSignal | undefined;

  constructor(ms: number, caller: AbortSignal | undefined, method: string, origin: string) {
    this.caller = caller;
    const controller = this.controller;
    this.timer = setTimeout(() => controller.abort(new NetError('NET_TIMEOUT', `${method} ${origin}: no response within ${ms} ms`, { origin, method, timeoutMs: ms })), ms);
    if (caller) {
      if (caller.aborted) controller.abort(caller.reason);
      else caller.addEventListener('abort', this, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The caller aborted (EventListener object form: no closure per request). */
  handleEvent(): void {
    this.controller.abort(this.caller!.reason);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this);
  }
}

/** A response at its headers; the body is read once, through one of the methods or as a stream. */
export class HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly origin: string;
  private readonly raw: Dispatcher.ResponseData;
  private readonly method: string;
  private readonly limit: number;
  private readonly decompress: boolean;
  private stream: Readable | undefined;

  constructor(raw: Dispatcher.ResponseData, origin: string, method: string, limit: number, decompress: boolean) {
    this.raw = raw;
    this.status = raw.statusCode;
    this.headers = raw.headers;
    this.origin = origin;
    this.method = method;
    this.limit = limit;
    this.decompress = decompress;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The body, decompressed when the server compressed it. Unlimited: the caller bounds what it reads. */
  get body(): Readable {
    if (this.stream) return this.stream;
    const encoding = this.decompress ? this.headers['content-encoding'] : undefined;
    const raw = this.raw.body as unknown as Readable;
    if (typeof encoding !== 'string' || encoding === 'identity') return (this.stream = raw);
    const enc = encoding.trim().toLowerCase();
    const inflater = enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'br' ? createBrotliDecompress() : enc === 'deflate' ? createInflate() : undefined;
    if (!inflater) return (this.stream = raw);
    raw.on('error', (err) => inflater.destroy(err));
    inflater.on('error', () => raw.destroy());
    raw.pipe(inflater);
    return (this.stream = inflater);
  }

  /** The whole body as bytes, at most the client's `maxResponseBytes` after decompression. */
  bytes(): Promise<Buffer> {
    const limit = this.limit;
    const declared = Number(this.headers['content-length']);
    if (!this.compressed() && declared > limit) {
      this.raw.body.destroy();
      return Promise.reject(this.tooLarge(declared));
    }
    const body = this.body;
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          body.destroy();
          this.raw.body.destroy();
          reject(this.tooLarge(size));
          return;
        }
        chunks.push(chunk);
      });
      body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      body.once('error', (err: Error & { code?: string }) => {
        if (body !== this.raw.body && (err.code?.startsWith('Z_') || err.code === 'ERR__ERROR_FORMAT_PADDING_1' || /incorrect header|invalid|unexpected end/i.test(err.message))) {
          reject(new NetError('NET_DECOMPRESSION_FAILED', `${this.method} ${this.origin}: cannot decompress the ${String(this.headers['content-encoding'])} body: ${err.message}`, { origin: this.origin }, { cause: err }));
        } else reject(toNetError(err, this.origin, this.method, undefined));
      });
    });
  }

  text(): Promise<string> {
    // Fast path: an uncompressed body of declared, allowed length goes through undici's own reader.
    if (this.stream === undefined && !this.compressed()) {
      const declared = Number(this.headers['content-length']);
      if (declared >= 0 && declared <= this.limit) {
        return this.raw.body.text().then(undefined, (err: unknown) => {
          throw toNetError(err, this.origin, this.method, undefined);
        });
      }
    }
    return this.bytes().then(utf8);
  }

  private compressed(): boolean {
    const enc = this.headers['content-encoding'];
    return this.decompress && typeof enc === 'string' && enc !== 'identity';
  }

  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new NetError('NET_HTTP_STATUS', `${this.method} ${this.origin}: response is not valid JSON (${(err as Error).message})`, { origin: this.origin, status: this.status }, { cause: err });
    }
  }

  /** Discards the body (frees the connection). */
  async dump(): Promise<void> {
    const body = this.raw.body;
    if (body.destroyed) return;
    // 'close' comes last (after 'end' or an error): by then the connection slot is free again.
    await new Promise<void>((resolve) => {
      body.once('close', resolve);
      body.on('error', noop);
      body.resume();
    });
  }

  /** Throws NET_HTTP_STATUS (status, Retry-After in details) when the status is >= 400, after freeing the body. */
  async throwIfError(): Promise<void> {
    if (this.status < 400) return;
    let excerpt = '';
    try {
      excerpt = (await this.text()).slice(0, 200);
    } catch {
      // The status is what matters; a body we cannot read adds nothing.
    }
    throw new NetError('NET_HTTP_STATUS', `${this.method} ${this.origin} answered ${this.status}`, {
      origin: this.origin,
      method: this.method,
      status: this.status,
      retryAfterMs: parseRetryAfter(this.headers['retry-after']),
      excerpt,
    });
  }

  private tooLarge(size: number): NetError {
    return new NetError('NET_RESPONSE_TOO_LARGE', `${this.method} ${this.origin}: response body is larger than ${this.limit} bytes`, { origin: this.origin, limit: this.limit, size });
  }
}

