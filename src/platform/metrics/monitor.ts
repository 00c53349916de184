/**
 * The monitor ties KPIs, anomaly detection and alert rules together and runs them on a clock: every
 * tick (default 1 s) it reads each KPI once, feeds the EWMA detectors, evaluates the rules, writes
 * each alert transition to the history and hands it to the notifiers, then tells subscribers (the
 * dashboard stream, `codectl top`). Everything slow happens off the tick: history writes and
 * deliveries are queued with bounds.
 *
 *   const monitor = createMonitor({ metrics, rules, anomaly, history, notifiers, log });
 *   registerHttpKpis(monitor.kpis, metrics, 10_000);
 *   monitor.start();
 *   monitor.view();          // GET /v1/kpis
 *   await monitor.close();
 */
import { AlertEngine, validateRules, type ActiveAlert, type AlertEvent, type AlertInput, type AlertRule, type Severity, type ThresholdRule } from './alerts.js';
import { EwmaDetector, type EwmaOptions, type EwmaReading } from './anomaly.js';
import { MetricsError } from './errors.js';
import { KpiRegistry, kpiState, type KpiSample, type KpiThresholds, type KpiValue } from './kpis.js';
import { NotificationQueue, type AlertNotifier, type NotifyLogger } from './notifiers.js';
import type { Registry } from './registry.js';

/** A KPI watched for leaving its baseline, and the alert that raises. */
export interface AnomalyWatch extends EwmaOptions {
  kpi: string;
  /** How long the KPI must stay out of its band before the alert fires, ms. */
  forMs: number;
  severity: Severity;
}

/** Where alert transitions are kept (the runtime's alerts repository). */
export interface AlertHistory {
  append(e: AlertEvent): Promise<void>;
}

export interface MonitorOptions {
  metrics: Registry;
  /** Rules from the config. KPIs registered with thresholds and no rule of their own get derived rules. */
  rules?: readonly AlertRule[];
  anomaly?: readonly AnomalyWatch[];
  history?: AlertHistory;
  notifiers?: readonly AlertNotifier[];
  log?: NotifyLogger;
  now?: () => number;
  /** Sampling period, ms. Default 1,000. */
  intervalMs?: number;
  /** Samples kept for charts (backfill of a new dashboard). Default 300. */
  keepSamples?: number;
  /** for-duration of rules derived from KPI-registered thresholds, ms. Default 30,000. */
  derivedForMs?: number;
  /** Hysteresis of derived rules. Default 0.05. */
  derivedHysteresis?: number;
  /** Alert events kept in memory for GET /v1/alerts when the store is slow or absent. Default 200. */
  keepEvents?: number;
  /** Queued history writes at most. Default 1,000. */
  maxPendingWrites?: number;
}

/** One sample in compact form: values in the order of `MonitorView.kpis` at the time. */
export interface CompactSample {
  at: number;
  values: Record<string, number | null>;
}

export interface MonitorSample extends KpiSample {
  alerts: ActiveAlert[];
  /** Baselines of watched KPIs (anomaly detection), by KPI name. */
  baselines: Record<string, { baseline: number | null; upper: number | null; ready: boolean; anomalous: boolean }>;
}

type SampleListener = (s: MonitorSample) => void;
type EventListener = (e: AlertEvent) => void;

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export class Monitor {
  readonly kpis = new KpiRegistry();
  readonly alerts: AlertEngine;
  private configRules: readonly AlertRule[];
  private watches: Array<{ watch: AnomalyWatch; detector: EwmaDetector }> = [];
  private readonly notifications: NotificationQueue;
  private readonly samples: CompactSample[] = [];
  private readonly events: AlertEvent[] = [];
  private readonly sampleListeners = new Set<SampleListener>();
  private readonly eventListeners = new Set<EventListener>();
  private lastSample: MonitorSample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private kpiSignature = '';
  private writes: Promise<void> = Promise.resolve();
  private pendingWrites = 0;
  private closed = false;
  private readonly now: () => number;
  readonly intervalMs: number;
  private readonly opts: MonitorOptions;

  constructor(opts: MonitorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 1_000;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 10 || this.intervalMs > 3_600_000) {
      throw new MetricsError('METRICS_VALUE_INVALID', `monitor interval must be 10..3600000 ms (got ${this.intervalMs})`);
    }
    this.configRules = opts.rules ?? [];
    validateRules(this.configRules);
    this.setAnomaly(opts.anomaly ?? []);
    this.notifications = new NotificationQueue(opts.notifiers ?? [], {
      onError: (notifier, e, err) => opts.log?.warn({ notifier, rule: e.rule, state: e.state, err: (err as Error)?.message }, `alert notification to ${notifier} failed`),
      onDrop: (e) => opts.log?.warn({ rule: e.rule, state: e.state }, 'alert notification dropped: too many queued'),
    });
    this.alerts = new AlertEngine({ rules: this.effectiveRules(), onEvent: (e) => this.handleEvent(e) });
    this.kpis.onReadError = (name, err) => opts.log?.warn({ kpi: name, err: (err as Error)?.message }, `KPI ${name} could not be read; it shows no data`);
    this.registerMetrics(opts.metrics);
  }

  private registerMetrics(metrics: Registry): void {
    metrics.gaugeCallback({
      name: 'code_kpi_value',
      help: 'Latest value of each KPI, in the unit its kpi label implies (ms, %, MB, req/s)',
      labelNames: ['kpi'],
      collect: () => (this.lastSample?.kpis ?? []).filter((k) => k.value !== null).map((k) => ({ labels: { kpi: k.name }, value: k.value! })),
    });
    metrics.gaugeCallback({
      name: 'code_kpi_state',
      help: 'State of each KPI: 0 ok, 1 warning, 2 critical, -1 no data',
      labelNames: ['kpi'],
      collect: () => (this.lastSample?.kpis ?? []).map((k) => ({ labels: { kpi: k.name }, value: { ok: 0, warning: 1, critical: 2, unknown: -1 }[k.state] })),
    });
    metrics.gaugeCallback({
      name: 'code_alerts_active',
      help: 'Alerts pending or firing, by severity and state',
      labelNames: ['severity', 'state'],
      collect: () => {
        const counts = new Map<string, number>();
        for (const sev of ['warning', 'critical']) for (const st of ['pending', 'firing']) counts.set(`${sev}|${st}`, 0);
        for (const a of this.alerts.active()) counts.set(`${a.severity}|${a.state}`, (counts.get(`${a.severity}|${a.state}`) ?? 0) + 1);
        return [...counts].map(([k, value]) => {
          const [severity, state] = k.split('|') as [string, string];
          return { labels: { severity, state }, value };
        });
      },
    });
    const transitions = metrics.counter({ name: 'code_alert_transitions_total', help: 'Alert state transitions', labelNames: ['severity', 'state'] });
    this.eventListeners.add((e) => transitions.inc({ severity: e.severity, state: e.state }));
  }

  /** Replaces the config rules (a live config change). */
  setRules(rules: readonly AlertRule[]): void {
    validateRules(rules);
    this.configRules = rules;
    this.alerts.setRules(this.effectiveRules(), this.now());
  }

  /** Replaces the anomaly watches; a watch kept with the same settings keeps its learnt baseline. */
  setAnomaly(watches: readonly AnomalyWatch[]): void {
    const prev = new Map(this.watches.map((w) => [JSON.stringify(w.watch), w]));
    this.watches = watches.map((watch) => prev.get(JSON.stringify(watch)) ?? { watch, detector: new EwmaDetector(watch) });
    if (this.alerts) this.alerts.setRules(this.effectiveRules(), this.now());
  }

  setNotifiers(notifiers: readonly AlertNotifier[]): void {
    this.notifications.setNotifiers(notifiers);
  }

  /** Config rules + anomaly rules + rules derived from thresholds KPIs registered with. */
  private effectiveRules(): AlertRule[] {
    const out: AlertRule[] = [...this.configRules];
    const covered = new Set(this.configRules.filter((r) => r.kind !== 'anomaly').map((r) => r.kpi));
    for (const { watch } of this.watches) {
      out.push({ kind: 'anomaly', name: `anomaly:${watch.kpi}`, kpi: watch.kpi, forMs: watch.forMs, severity: watch.severity, description: `${watch.kpi} left its EWMA baseline` });
    }
    for (const def of this.kpis.list()) {
      const t = def.thresholds;
      if (!t || covered.has(def.name)) continue;
      for (const severity of ['warning', 'critical'] as const) {
        const threshold = t[severity];
        if (threshold === undefined) continue;
        out.push({ name: `${def.name}:${severity}`, kpi: def.name, comparison: t.comparison, threshold, severity, forMs: this.opts.derivedForMs ?? 30_000, hysteresis: this.opts.derivedHysteresis ?? 0.05, description: `threshold registered by ${def.group}` } satisfies ThresholdRule);
      }
    }
    return out;
  }

  /** Thresholds shown for a KPI: those of its config rules, else those it registered with. */
  thresholdsFor(kpi: string): KpiThresholds | null {
    const rules = this.configRules.filter((r): r is ThresholdRule => r.kind !== 'anomaly' && r.kpi === kpi);
    if (rules.length > 0) {
      const t: KpiThresholds = { comparison: rules[0]!.comparison };
      for (const r of rules) if (r.comparison === t.comparison) t[r.severity] = t[r.severity] === undefined ? r.threshold : t.comparison.startsWith('>') ? Math.min(t[r.severity]!, r.threshold) : Math.max(t[r.severity]!, r.threshold);
      return t;
    }
    return this.kpis.get(kpi)?.thresholds ?? null;
  }

  /** Takes one sample now: reads KPIs, updates baselines, evaluates rules, tells subscribers. */
  tick(now = this.now()): MonitorSample {
    const signature = this.kpis.list().map((k) => `${k.name}${JSON.stringify(k.thresholds ?? null)}`).join('|');
    if (signature !== this.kpiSignature) {
      this.kpiSignature = signature;
      this.alerts.setRules(this.effectiveRules(), now);
    }
    const values = this.kpis.read(now);
    const inputs = new Map<string, AlertInput>();
    for (const [name, value] of values) inputs.set(name, { value });
    const baselines: MonitorSample['baselines'] = {};
    for (const { watch, detector } of this.watches) {
      const v = values.get(watch.kpi);
      const r: EwmaReading = detector.update(v ?? NaN);
      const input = inputs.get(watch.kpi);
      if (input) Object.assign(input, { anomalous: r.anomalous, baseline: r.baseline, upper: r.upper });
      baselines[watch.kpi] = { baseline: finite(r.baseline), upper: finite(r.upper), ready: r.ready, anomalous: r.anomalous };
    }
    this.alerts.evaluate(inputs, now);
    const kpis: KpiValue[] = this.kpis.list().map((def) => {
      const value = finite(values.get(def.name) ?? NaN);
      const thresholds = this.thresholdsFor(def.name);
      return { name: def.name, title: def.title, unit: def.unit, group: def.group, value, state: kpiState(value, thresholds), thresholds };
    });
    const sample: MonitorSample = { at: now, kpis, alerts: this.alerts.active(), baselines };
    this.lastSample = sample;
    const compact: CompactSample = { at: now, values: Object.fromEntries(kpis.map((k) => [k.name, k.value])) };
    this.samples.push(compact);
    if (this.samples.length > (this.opts.keepSamples ?? 300)) this.samples.shift();
    for (const fn of this.sampleListeners) {
      try {
        fn(sample);
      } catch (err) {
        this.opts.log?.warn({ err: (err as Error)?.message }, 'a KPI sample subscriber failed');
      }
    }
    return sample;
  }

  private handleEvent(e: AlertEvent): void {
    this.events.push(e);
    if (this.events.length > (this.opts.keepEvents ?? 200)) this.events.shift();
    if (this.opts.history) this.writeHistory(this.opts.history, e);
    this.notifications.push(e);
    for (const fn of this.eventListeners) {
      try {
        fn(e);
      } catch (err) {
        this.opts.log?.warn({ err: (err as Error)?.message }, 'an alert subscriber failed');
      }
    }
  }

  private writeHistory(history: AlertHistory, e: AlertEvent): void {
    if (this.pendingWrites >= (this.opts.maxPendingWrites ?? 1_000)) {
      this.opts.log?.warn({ rule: e.rule, state: e.state }, 'alert history write dropped: the store is falling behind');
      return;
    }
    this.pendingWrites++;
    this.writes = this.writes
      .then(() => history.append(e))
      .catch((err) => this.opts.log?.warn({ rule: e.rule, state: e.state, err: (err as Error)?.message }, 'alert history write failed'))
      .finally(() => {
        this.pendingWrites--;
      });
  }

  /** The latest sample (taking one if none was taken yet). */
  view(): MonitorSample {
    return this.lastSample ?? this.tick();
  }

  latest(): MonitorSample | undefined {
    return this.lastSample;
  }

  /** Recent samples for charts, oldest first. */
  history(): readonly CompactSample[] {
    return this.samples;
  }

  /** Recent alert transitions kept in memory, newest first. */
  recentEvents(limit = 100): AlertEvent[] {
    return this.events.slice(-limit).reverse();
  }

  onSample(fn: SampleListener): () => void {
    this.sampleListeners.add(fn);
    return () => this.sampleListeners.delete(fn);
  }

  onAlert(fn: EventListener): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Samples every `intervalMs` until `stop()`; the timer never keeps the process alive. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.opts.log?.error({ err: (err as Error)?.message }, 'KPI sampling failed');
      }
    }, this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Waits for queued history writes and notifications. */
  async drain(): Promise<void> {
    await this.writes;
    await this.notifications.drain();
    await this.writes;
  }

  notificationStats(): { delivered: number; failed: number; dropped: number } {
    return { delivered: this.notifications.delivered, failed: this.notifications.failed, dropped: this.notifications.dropped };
  }

  /** Stops sampling, lets queued history writes finish, aborts deliveries still in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.sampleListeners.clear();
    await this.writes;
    await this.notifications.close();
  }
}

export function createMonitor(opts: MonitorOptions): Monitor {
  return new Monitor(opts);
}
