import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { createMetricsRegistry } from '../platform/metrics/registry.js';
import type { MetricsRegistry } from '../platform/metrics/types.js';
import { breakerIsolator, createMemoryControl, describeEvent, registerMemoryKpis, registerMemoryMetrics, type MemoryControl } from '../platform/memory/index.js';
import type { PostgresStore } from '../platform/store/postgres.js';
import { SqliteStore } from '../platform/store/sqlite.js';
import type { Store } from '../platform/store/types.js';
import { FlagRegistry } from './config/flags.js';
import { loadConfig, type LoadConfigOptions } from './config/loader.js';
import type { Config } from './config/schema.js';
import { memoryLiveOptions, memoryOptions } from './config/sections/memory.js';
import { postgresOptions } from './config/sections/store.js';
import { ConfigManager } from './config/versions.js';
import { allMigrations } from './repositories/index.js';
import { buildObservability, type Observability } from './observability.js';
import { createExperts, netTransport, type ExpertsService } from '../capabilities/experts/index.js';
import { circleOptions, expertsSetup } from './config/sections/experts.js';
import { consultationHistory } from './repositories/consultations.js';
import { HttpClient } from '../platform/net/index.js';
import { netOptions } from './config/sections/net.js';
import { createCache, registerCacheKpis, type TieredCache } from '../platform/cache/index.js';
import { cacheLiveOptions, cacheOptions } from './config/sections/cache.js';
import { createKernels, type Kernels } from '../platform/kernels/index.js';
import { createLogsService, type LogsService } from '../capabilities/logs/index.js';
import { createProbeService, type ProbeService } from '../capabilities/probe/index.js';
import { createChecker, type Checker } from '../capabilities/check/index.js';
import { proberOptions } from './config/sections/probe.js';
import { checkHistory } from './repositories/checks.js';
import { probeHistory } from './repositories/probes.js';

export interface EngineOptions extends LoadConfigOptions {
  /** A logger to use instead of building one (tests pass a silent one). */
  logger?: Logger;
  /** Where logs go: the server logs to stdout; CLI commands to stderr so stdout stays machine output. */
  logTo?: 'stdout' | 'stderr';
  /** Poll the store for config and flag changes made by other processes (the server does). */
  syncIntervalMs?: number;
}

export interface ReadyCheck {
  name: string;
  check: () => Promise<void>;
}

export interface ReadyReport {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; latencyMs: number; error?: string }>;
}

/** Log fields that may carry secrets; pino replaces them with [redacted]. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'password',
  '*.password',
];

/**
 * The composition root: every part of CODE is built here from the config, in dependency order, and
 * closed here in reverse order. CLI commands and server routes receive the engine and use its parts;
 * they never build parts themselves.
 */
export class Engine {
  readonly log: Logger;
  readonly config: ConfigManager;
  readonly flags: FlagRegistry;
  readonly store: Store;
  readonly metrics: MetricsRegistry;
  // Parts added by later issues are declared here and assigned in createEngine().
  /** KPIs, alert rules, anomaly detection; later parts register their KPIs with `observability.monitor.kpis` (issue 3). */
  observability!: Observability;
  /** The circle of experts: LLM providers and built-in reviewers, consultations, history (issue 10). */
  experts!: ExpertsService;
  /** The shared outbound HTTP client: per-origin pools and breakers, retries, metrics; HTTP/2 by the `net.http2` flag (issue 4). */
  http!: HttpClient;
  /** Memory monitor, load shedder and the responders other parts register with (issue 7). */
  memory!: MemoryControl;
  /** WASM SIMD kernels with JS twins, picked per call by the `kernels.wasm` flag; monitor with the measured speed-up (issue 9). */
  kernels!: Kernels;
  /** The log analyzer on the engine's kernels and the `logs` settings (issue 9). */
  logs!: LogsService;
  /** The prober (allowlist, TTL cache, history) built from the live `probe` settings (issue 8). */
  probes!: ProbeService;
  /** The check flow: spec → probes → health → logs → report, saved in the history (issue 8). */
  checks!: Checker;
  /** The tiered cache: L1 memory, L2 Redis (when redis.url / REDIS_URL is set), L3 disk under data.dir (issue 5). */
  cache!: TieredCache;

  private readonly closers: Array<{ name: string; close: () => Promise<void> | void }> = [];
  private readonly readyChecks: ReadyCheck[] = [];
  private syncTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(parts: { log: Logger; config: ConfigManager; flags: FlagRegistry; store: Store; metrics: MetricsRegistry }) {
    this.log = parts.log;
    this.config = parts.config;
    this.flags = parts.flags;
    this.store = parts.store;
    this.metrics = parts.metrics;
  }

  /** The running configuration (live keys already applied). */
  get settings(): Config {
    return this.config.current;
  }

  /** Registers a cleanup; closers run in reverse order of registration. */
  onClose(name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close });
  }

  /** Registers a dependency that /ready checks. */
  addReadyCheck(name: string, check: () => Promise<void>): void {
    this.readyChecks.push({ name, check });
  }

  async readiness(timeoutMs = 2000): Promise<ReadyReport> {
    const checks = await Promise.all(
      this.readyChecks.map(async ({ name, check }) => {
        const start = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return { name, ok: true, latencyMs: round(performance.now() - start) };
        } catch (err) {
          return { name, ok: false, latencyMs: round(performance.now() - start), error: (err as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: checks.every((c) => c.ok), checks };
  }

  /** Polls the store for config versions and flag changes written by other processes. */
  startSync(intervalMs: number): void {
    const tick = async (): Promise<void> => {
      try {
        const rolled = await this.config.sync();
        if (rolled) this.log.info({ version: rolled.version.version, applied: rolled.applied, restartRequired: rolled.restartRequired }, 'config version picked up from the store');
        if (await this.flags.sync()) this.log.info('feature flags picked up from the store');
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'config/flag sync failed; will retry');
      }
      if (!this.closing) this.syncTimer = setTimeout(tick, intervalMs).unref();
    };
    this.syncTimer = setTimeout(tick, intervalMs).unref();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.syncTimer);
      for (const { name, close } of [...this.closers].reverse()) {
        try {
          await close();
        } catch (err) {
          this.log.error({ part: name, err: (err as Error).message }, 'error while closing');
        }
      }
    })();
    return this.closing;
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

function buildLogger(config: Config, to: 'stdout' | 'stderr'): Logger {
  return pino(
    { level: config.log.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    pino.destination({ fd: to === 'stdout' ? 1 : 2, sync: to === 'stderr' }),
  );
}

async function buildStore(config: Config, cwd: string, metrics: MetricsRegistry): Promise<Store> {
  // PostgreSQL when store.url / DATABASE_URL is set; its pool reports into the engine's metrics.
  // Loaded only then: the embedded default never pays for pg at start-up.
  if (config.store.url) {
    const { PostgresStore } = await import('../platform/store/postgres.js');
    return new PostgresStore({ ...postgresOptions(config.store), metrics });
  }
  return new SqliteStore({ path: join(resolve(cwd, config.data.dir), config.store.sqliteFile), synchronous: config.store.synchronous });
}

/** Builds and starts every part from the config. Throws a CodeError (never half-built: what was built is closed). */
export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const cwd = opts.cwd ?? process.cwd();
  const loaded = loadConfig(opts);
  const log = opts.logger ?? buildLogger(loaded.config, opts.logTo ?? 'stderr');
  const metrics = createMetricsRegistry();
  const store = await buildStore(loaded.config, cwd, metrics);
  const pgStore = store.dialect === 'postgres' ? (store as PostgresStore) : undefined;
  const partial: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    await store.migrate(allMigrations);
    const config = new ConfigManager(store, loaded);
    await config.init();
    const flags = new FlagRegistry(store);
    await flags.load();
    if (pgStore) {
      flags.register({ name: 'store.copy', default: true, description: 'Bulk inserts on PostgreSQL use COPY FROM STDIN.', fallback: 'Multi-row INSERT statements, 1,000 rows per chunk in one transaction.' });
      pgStore.useCopy = flags.reader('store.copy');
    }
    const engine = new Engine({ log, config, flags, store, metrics });
    engine.onClose('store', () => store.close());
    partial.length = 0;
    engine.addReadyCheck(`store:${store.dialect}`, () => store.ping());
    config.onChange((changes, cfg) => {
      if (changes.some((c) => c.path === 'log.level')) log.level = cfg.log.level;
    });

    // Parts of later issues are built here, in dependency order, each registering its close.

    // Observability first: every part built after it registers its KPIs with engine.observability.monitor.kpis.
    engine.observability = buildObservability({ metrics, store, config, log, onClose: (name, close) => engine.onClose(name, close) });
    // Database pool KPIs (utilisation feeds the 85% warning rule; connection wait P95).
    if (pgStore) {
      const { registerPoolKpis } = await import('../platform/store/kpis.js');
      engine.onClose('store-kpis', registerPoolKpis(engine.observability.monitor.kpis, metrics, pgStore.pool, loaded.config.alerts.windowSeconds * 1000));
    }

    // Memory first: the parts built after it register their caches, limits and breakers with it.
    flags.register({
      name: 'memory.idleTrim',
      default: true,
      description: 'Once the server idles, one scavenge lets V8 shrink the young generation it grew under load (~30 MB of RSS).',
      fallback: 'The young generation keeps its grown size until V8 shrinks it on its own.',
    });
    const memoryOpts = memoryOptions(loaded.config.memory);
    const memory = createMemoryControl({ ...memoryOpts, idleTrim: { ...memoryOpts.idleTrim, enabled: flags.reader('memory.idleTrim') } });
    engine.memory = memory;
    registerMemoryMetrics(metrics, memory.monitor, memory.shedder);
    const memoryCfg = loaded.config.memory;
    engine.onClose('memory-kpis', registerMemoryKpis(engine.observability.monitor.kpis, memory.monitor, { warnBelowS: memoryCfg.predictor.warnBeforeCriticalMs / 1000, leakMbPerHour: memoryCfg.leak.minGrowthMbPerHour }));
    memory.monitor.on((e) => {
      const d = describeEvent(e);
      log[d.severity](d.fields, d.message);
    });
    config.onChange((changes, cfg) => {
      if (!changes.some((c) => c.path.startsWith('memory.'))) return;
      try {
        memory.monitor.configure(memoryLiveOptions(cfg.memory));
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'memory config change refused; the previous values stay');
      }
    });
    if (loaded.config.memory.enabled) memory.monitor.start();
    engine.onClose('memory', () => memory.close());

    // Tiered cache (issue 5): L1 memory + L3 disk under data.dir, L2 when redis.url / REDIS_URL is set
    // (the engine starts without it if Redis is down; L2 joins when it is up). The memory monitor
    // shrinks L1 under pressure; the hit rate is the cache.hit_rate KPI.
    flags.register({ name: 'cache.l2', default: true, description: 'The cache reads and writes Redis (L2), with leases and the invalidation bus.', fallback: 'L1 memory and L3 disk only; writes made meanwhile are replayed to Redis when the flag is back on.' });
    flags.register({ name: 'cache.compression', default: true, description: 'Cache values at least cache.compressThresholdBytes large are deflated before going to Redis and disk.', fallback: 'Values are stored uncompressed (compressed ones are still read).' });
    engine.cache = await createCache({
      ...cacheOptions(loaded.config.cache, { redisUrl: loaded.config.redis.url, dataDir: resolve(cwd, loaded.config.data.dir) }),
      flags: { l2: flags.reader('cache.l2'), compression: flags.reader('cache.compression') },
      metrics,
      onWarning: (message, details) => log.warn({ ...details }, `cache: ${message}`),
    });
    engine.onClose('cache', () => engine.cache.close());
    flags.onChange('cache.l2', () => engine.cache.checkFlags());
    engine.onClose('cache-memory', memory.caches.add({ shrink: (f) => void engine.cache.shrinkL1(f), restore: () => engine.cache.restoreL1() }));
    engine.onClose('cache-kpis', registerCacheKpis(engine.observability.monitor.kpis, engine.cache, loaded.config.alerts.windowSeconds * 1000));
    config.onChange((changes, cfg) => {
      if (!changes.some((c) => c.path.startsWith('cache.'))) return;
      try {
        engine.cache.configure(cacheLiveOptions(cfg.cache));
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'cache config change refused; the previous values stay');
      }
    });

    // Kernels (issue 9): WASM SIMD or the JS twins per call, from the kernels.wasm flag. A missing or
    // broken build/kernels/kernels.wasm is logged once and the JS twins serve. Nothing to close.
    flags.register({
      name: 'kernels.wasm',
      default: true,
      description: 'Numeric and byte kernels (sum, dot, stats, percentile, byte count and search, popcount, Jaccard, masked hash, the log line splitter) run as WebAssembly SIMD.',
      fallback: 'The JS twins: plain loops and Buffer#indexOf, same results (floats within rounding).',
    });
    engine.kernels = createKernels({ useWasm: flags.reader('kernels.wasm'), log, metrics });
    engine.logs = createLogsService({ kernels: engine.kernels, settings: () => engine.settings.logs, cwd });

    // Outbound HTTP (issue 4): every outbound call goes through this one client (lint keeps it so).
    flags.register({
      name: 'net.http2',
      default: false,
      description: 'Outbound requests to https origins negotiate HTTP/2 (ALPN) on engine.http; read per request.',
      fallback: 'HTTP/1.1 keep-alive pools per origin.',
    });
    engine.http = new HttpClient({ ...netOptions(loaded.config.net), http2: flags.reader('net.http2'), metrics });
    engine.onClose('http', () => engine.http.close());
    engine.observability.useHttpClient(engine.http); // alert webhooks post through it

    // Circle of experts: providers behind their resilience policies, built-ins, history in the store.
    // Keys are read from the environment only; provider calls go through engine.http (its pools,
    // timeouts and per-origin metrics). Results are cached in engine.cache (experts.cacheTtlMs).
    flags.register({ name: 'experts.earlyReturn', default: true, description: 'A consultation returns once enough experts answered and the rest cannot change the winning answer.', fallback: 'Wait for every expert (or the deadline).' });
    flags.register({ name: 'experts.cache', default: true, description: 'Consultation results are reused for the same question, context and experts (experts.cacheTtlMs).', fallback: 'Every consultation asks the experts.' });
    const experts = createExperts(expertsSetup(loaded.config.experts), {
      env: opts.env ?? process.env,
      transport: netTransport(engine.http),
      cache: engine.cache,
      metrics,
      flags: { cache: flags.reader('experts.cache'), earlyReturn: flags.reader('experts.earlyReturn') },
      history: consultationHistory(store),
      onInternalError: (err, where) => log.warn({ err: (err as Error).message, where }, 'experts: cache or history failed; the consultation goes on'),
    });
    engine.experts = experts.service;
    // LLM calls are optional work (the built-in experts answer offline, and a consultation says which
    // experts could not answer): under high memory pressure their breakers are opened by hand.
    for (const breaker of experts.breakers) engine.onClose(`experts-memory:${breaker.name}`, memory.breakers.add(breakerIsolator(breaker)));
    config.onChange((changes, cfg) => {
      if (changes.some((c) => c.path.startsWith('experts.'))) experts.service.configure(circleOptions(cfg.experts), cfg.experts.batchConcurrency);
    });
    engine.onClose('experts', () => experts.close());

    // Prober and checks (issue 8). Loopback only unless probe.allowlist names more; the settings are
    // live (a change builds a new prober). Health checks go through engine.http, one attempt each.
    flags.register({
      name: 'probe.rawSockets',
      default: true,
      description: 'TCP connect scans drive libuv TCP handles directly (no net.Socket per attempt), read per scan.',
      fallback: 'One net.Socket per attempt: the public API, about half the speed on a full port scan.',
    });
    const rawSockets = flags.reader('probe.rawSockets');
    const httpGet = async (url: string, o: { signal: AbortSignal; timeoutMs: number }): Promise<{ status: number }> => {
      const res = await engine.http.request(url, { signal: o.signal, timeoutMs: o.timeoutMs, maxAttempts: 1 });
      await res.dump();
      return { status: res.status };
    };
    const probeParts = { httpGet, dialer: (): 'raw' | 'net' => (rawSockets() ? 'raw' : 'net'), metrics };
    // Under memory pressure the scan concurrency (sockets and results in flight) is lowered to a
    // fraction of probe.maxConcurrency by the monitor's concurrency responder, and restored after.
    let probeConcurrency = 1;
    const scaledProbeOptions = () => {
      const o = proberOptions(engine.settings.probe, probeParts);
      return probeConcurrency === 1 ? o : { ...o, maxConcurrency: Math.max(1, Math.floor(engine.settings.probe.maxConcurrency * probeConcurrency)) };
    };
    engine.onClose(
      'probe-memory',
      memory.concurrency.add({
        shrink: (fraction) => void (probeConcurrency = fraction),
        restore: () => void (probeConcurrency = 1),
      }),
    );
    const probeKey = (): string => `${JSON.stringify(engine.settings.probe)}|${probeConcurrency}`;
    let probeCfg = probeKey();
    let probeOpts = scaledProbeOptions();
    const historyError = (what: string) => (err: unknown) => log.warn({ err: (err as Error).message }, `${what}: saving the history failed; the result is still returned`);
    engine.probes = createProbeService({
      options: () => {
        const now = probeKey();
        if (now !== probeCfg) probeOpts = scaledProbeOptions();
        probeCfg = now;
        return probeOpts;
      },
      history: probeHistory(store),
      onHistoryError: historyError('probe'),
    });
    engine.checks = createChecker({
      prober: engine.probes,
      // Input from the network reads logs inside logs.roots only; the CLI passes engine.logs.analyze.
      analyzeLogs: (paths, o) => engine.logs.analyzeConfined(paths, o.signal ? { signal: o.signal } : {}),
      history: checkHistory(store),
      onHistoryError: historyError('check'),
      get degradedLatencyMs() {
        return engine.settings.probe.degradedLatencyMs;
      },
    });

    if (opts.syncIntervalMs) engine.startSync(opts.syncIntervalMs);
    return engine;
  } catch (err) {
    for (const close of partial.reverse()) await close();
    throw err;
  }
}
