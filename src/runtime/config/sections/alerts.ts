import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { AlertRule } from '../../../platform/metrics/alerts.js';
import type { AnomalyWatch } from '../../../platform/metrics/monitor.js';
import { StringEnum } from '../types.js';

const KPI_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+){0,5}$';

const rule = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,99}$', description: 'Unique rule name.' }),
    kpi: Type.String({ pattern: KPI_PATTERN, description: 'KPI watched, e.g. http.latency.p95 (GET /v1/kpis lists them).' }),
    comparison: StringEnum(['>', '>=', '<', '<='], { description: 'How the value compares with the threshold when the rule holds.' }),
    threshold: Type.Number({ description: 'In the KPI unit: ms, %, MB, req/s.' }),
    forSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 30, description: 'How long the condition must hold before the alert fires.' }),
    severity: StringEnum(['warning', 'critical'], { description: 'warning or critical.' }),
    hysteresis: Type.Number({ minimum: 0, maximum: 0.99, default: 0.05, description: 'The alert resolves once the value is back past the threshold by this fraction of it.' }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

const watch = Type.Object(
  {
    kpi: Type.String({ pattern: KPI_PATTERN, description: 'KPI watched for leaving its EWMA baseline.' }),
    alpha: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'Weight of each new sample in the baseline.' }),
    deviations: Type.Number({ minimum: 0, maximum: 100, default: 4, description: 'Band width in standard deviations.' }),
    minRatio: Type.Number({ minimum: 1, maximum: 1000, default: 2, description: 'A sample must also be this multiple of the baseline.' }),
    minDelta: Type.Number({ minimum: 0, default: 0, description: 'And this far from it, in the KPI unit.' }),
    warmup: Type.Integer({ minimum: 1, maximum: 100_000, default: 30, description: 'Samples learnt before judging.' }),
    direction: StringEnum(['up', 'down', 'both'], { default: 'up', description: 'Which side is bad.' }),
    forSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 10, description: 'How long the KPI must stay out of its band before the alert fires.' }),
    severity: StringEnum(['warning', 'critical'], { default: 'warning', description: 'Severity of the anomaly alert.' }),
  },
  { additionalProperties: false },
);

const webhook = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', maxLength: 2000, description: 'Receiver; gets a POST with JSON { source, version, event } on firing and resolved.' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5_000, description: 'Per attempt.' }),
    retries: Type.Integer({ minimum: 0, maximum: 10, default: 3, description: 'Retries after the first attempt (exponential backoff with jitter).' }),
    baseDelayMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 200, description: 'First backoff ceiling; doubles per retry.' }),
    states: Type.Array(StringEnum(['pending', 'firing', 'resolved', 'cancelled']), { default: ['firing', 'resolved'], uniqueItems: true, maxItems: 4, description: 'Transitions sent.' }),
  },
  { additionalProperties: false },
);

/**
 * The planning document's thresholds. Critical rules fire after 15 s, warnings after 30 s. "Memory" is
 * the V8 heap in use: an idle compiled server already has ~123 MB RSS (code, native modules), so an
 * RSS rule at 120 MB would fire on a healthy idle process; point the rules at process.memory.rss to
 * watch RSS instead (the memory monitor watches RSS against the real limits).
 */
export const DEFAULT_RULES: Static<typeof rule>[] = [
  { name: 'latency-p95-warning', kpi: 'http.latency.p95', comparison: '>', threshold: 120, forSeconds: 30, severity: 'warning', hysteresis: 0.05 },
  { name: 'latency-p95-critical', kpi: 'http.latency.p95', comparison: '>', threshold: 150, forSeconds: 15, severity: 'critical', hysteresis: 0.05 },
  { name: 'memory-warning', kpi: 'process.memory.heap_used', comparison: '>', threshold: 120, forSeconds: 30, severity: 'warning', hysteresis: 0.05 },
  { name: 'memory-critical', kpi: 'process.memory.heap_used', comparison: '>', threshold: 150, forSeconds: 15, severity: 'critical', hysteresis: 0.05 },
  { name: 'error-rate-warning', kpi: 'http.error_rate', comparison: '>', threshold: 8, forSeconds: 30, severity: 'warning', hysteresis: 0.05 },
  { name: 'error-rate-critical', kpi: 'http.error_rate', comparison: '>', threshold: 10, forSeconds: 15, severity: 'critical', hysteresis: 0.05 },
  { name: 'pool-utilization-warning', kpi: 'pool.utilization', comparison: '>', threshold: 85, forSeconds: 30, severity: 'warning', hysteresis: 0.05 },
  { name: 'cache-hit-rate-critical', kpi: 'cache.hit_rate', comparison: '<', threshold: 90, forSeconds: 15, severity: 'critical', hysteresis: 0.05 },
];

/** Regression detection: a 3× slowdown or an error burst raises a warning below the fixed thresholds. */
export const DEFAULT_ANOMALY: Static<typeof watch>[] = [
  { kpi: 'http.latency.p95', alpha: 0.1, deviations: 4, minRatio: 2, minDelta: 5, warmup: 30, direction: 'up', forSeconds: 10, severity: 'warning' },
  { kpi: 'http.error_rate', alpha: 0.1, deviations: 4, minRatio: 2, minDelta: 3, warmup: 30, direction: 'up', forSeconds: 10, severity: 'warning' },
];

/** KPIs, alert rules, anomaly detection and notifiers (src/platform/metrics, README "Observability"). */
export const alertsSection = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Sample KPIs and evaluate alert rules in the server.' }),
    intervalMs: Type.Integer({ default: 1000, minimum: 100, maximum: 60_000, description: 'Time between two KPI samples (and rule evaluations, and dashboard updates).' }),
    windowSeconds: Type.Integer({ default: 10, minimum: 1, maximum: 3600, description: 'Sliding window of the HTTP KPIs (latency percentiles, throughput, error rate).' }),
    rules: Type.Array(rule, { default: DEFAULT_RULES, maxItems: 200, live: true, description: 'Alert rules: metric (kpi), comparison, threshold, forSeconds, severity, hysteresis.' }),
    anomaly: Type.Array(watch, { default: DEFAULT_ANOMALY, maxItems: 50, live: true, description: 'KPIs watched for leaving their EWMA baseline; each raises an anomaly:KPI alert.' }),
    webhooks: Type.Array(webhook, { default: [], maxItems: 20, live: true, description: 'Webhook receivers of alert notifications (the log always gets them).' }),
    derivedForSeconds: Type.Number({ default: 30, minimum: 0, maximum: 86_400, live: true, description: 'for-duration of the rules derived from thresholds that parts register with their KPIs (when no rule here names the KPI).' }),
    historyKeep: Type.Integer({ default: 10_000, minimum: 100, maximum: 10_000_000, description: 'Alert transitions kept in the store; older ones are pruned.' }),
  },
  { additionalProperties: false, default: {} },
);

export type AlertsConfig = Static<typeof alertsSection>;

/** Config rules → engine rules (seconds → ms). */
export function alertRules(cfg: AlertsConfig): AlertRule[] {
  return cfg.rules.map((r) => ({
    name: r.name,
    kpi: r.kpi,
    comparison: r.comparison,
    threshold: r.threshold,
    forMs: Math.round(r.forSeconds * 1000),
    severity: r.severity,
    hysteresis: r.hysteresis,
    ...(r.description ? { description: r.description } : {}),
  }));
}

export function anomalyWatches(cfg: AlertsConfig): AnomalyWatch[] {
  return cfg.anomaly.map(({ forSeconds, ...w }) => ({ ...w, forMs: Math.round(forSeconds * 1000) }));
}
