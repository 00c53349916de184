/**
 * Wires the metrics platform into the engine: the KPI monitor (HTTP and process KPIs, alert rules
 * and anomaly watches from the `alerts` config section), alert history in the store, the log and
 * webhook notifiers. Built first in createEngine so every later part can register its KPIs:
 *
 *   engine.observability.monitor.kpis.register({ name: 'cache.hit_rate', ..., thresholds: { comparison: '<', critical: 90 } });
 *
 * Sampling starts with the server (the metrics route plugin), not in one-shot CLI commands.
 */
import type { Logger } from 'pino';
import { KPI_NAMES, httpInstruments, registerHttpKpis, registerProcessKpis, type HttpInstruments } from '../platform/metrics/builtin.js';
import { createMonitor, type Monitor } from '../platform/metrics/monitor.js';
import { httpClientPost, logNotifier, webhookNotifier, type AlertNotifier, type HttpPost } from '../platform/metrics/notifiers.js';
import type { HttpClient } from '../platform/net/index.js';
import { MetricsError } from '../platform/metrics/errors.js';
import type { Registry } from '../platform/metrics/registry.js';
import type { Store } from '../platform/store/types.js';
import { alertRules, anomalyWatches, type AlertsConfig } from './config/sections/alerts.js';
import type { ConfigManager } from './config/versions.js';
import { listAlertEvents, storeAlertHistory, type AlertEventQuery } from './repositories/alerts.js';

export interface Observability {
  readonly monitor: Monitor;
  /** The request instruments the server's hook records into. */
  readonly http: HttpInstruments;
  readonly metrics: Registry;
  /** Alert transitions from the store, newest first. */
  events(q?: AlertEventQuery): ReturnType<typeof listAlertEvents>;
  /**
   * Gives webhooks the engine's HTTP client. Built after observability (which comes first so every
   * part can register KPIs), so the engine hands it over once it exists: `observability.useHttpClient(http)`.
   */
  useHttpClient(client: HttpClient): void;
  /** Starts sampling when `alerts.enabled` (the server calls it); idempotent. */
  start(): void;
  stop(): void;
}

export interface ObservabilityParts {
  metrics: Registry;
  store: Store;
  config: ConfigManager;
  log: Logger;
  onClose: (name: string, close: () => Promise<void> | void) => void;
}

export { KPI_NAMES };

function notifiers(cfg: AlertsConfig, log: Logger, post: HttpPost): AlertNotifier[] {
  const out: AlertNotifier[] = [logNotifier(log)];
  for (const w of cfg.webhooks) {
    out.push(webhookNotifier({ url: w.url, post, timeoutMs: w.timeoutMs, retries: w.retries, baseDelayMs: w.baseDelayMs, states: w.states }));
  }
  return out;
}

export function buildObservability(parts: ObservabilityParts): Observability {
  const { metrics, store, config, log } = parts;
  const cfg = config.current.alerts;
  // Webhooks post through whichever HTTP client the engine handed over (late: see useHttpClient).
  let client: HttpPost | undefined;
  const post: HttpPost = (url, body, opts) => {
    if (client === undefined) return Promise.reject(new MetricsError('ALERT_WEBHOOK_FAILED', `webhook ${url}: the engine has no HTTP client yet`, { url, permanent: true }));
    return client(url, body, opts);
  };
  const monitor = createMonitor({
    metrics,
    rules: alertRules(cfg),
    anomaly: anomalyWatches(cfg),
    history: storeAlertHistory(store, { keep: cfg.historyKeep }),
    notifiers: notifiers(cfg, log, post),
    log,
    intervalMs: cfg.intervalMs,
    derivedForMs: Math.round(cfg.derivedForSeconds * 1000),
    keepSamples: 300,
  });
  const http = httpInstruments(metrics);
  const removeHttp = registerHttpKpis(monitor.kpis, metrics, cfg.windowSeconds * 1000);
  const removeProcess = registerProcessKpis(monitor.kpis);

  config.onChange((changes, next) => {
    if (!changes.some((c) => c.path.startsWith('alerts.'))) return;
    try {
      monitor.setRules(alertRules(next.alerts));
      monitor.setAnomaly(anomalyWatches(next.alerts));
      monitor.setNotifiers(notifiers(next.alerts, log, post));
      log.info({ rules: next.alerts.rules.length, anomaly: next.alerts.anomaly.length, webhooks: next.alerts.webhooks.length }, 'alert rules reloaded');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'alert config change refused; the previous rules stay');
    }
  });

  parts.onClose('observability', async () => {
    await monitor.close();
    removeHttp();
    removeProcess();
  });

  return {
    monitor,
    http,
    metrics,
    events: (q) => listAlertEvents(store, q),
    useHttpClient(http) {
      client = httpClientPost(http);
    },
    start() {
      if (config.current.alerts.enabled) monitor.start();
    },
    stop: () => monitor.stop(),
  };
}
