/**
 * Alert rules over KPIs, with the Prometheus lifecycle: a rule whose condition holds goes
 * `pending`; if it keeps holding for `forMs` it goes `firing`; when it stops holding — past a
 * hysteresis margin, so a value hovering at the threshold does not flap — it is `resolved`. A
 * pending alert whose condition clears before `forMs` is `cancelled` (recorded, never notified).
 *
 *   const engine = new AlertEngine({ rules, onEvent: (e) => history.push(e) });
 *   engine.evaluate(new Map([['http.latency.p95', { value: 180 }]]), Date.now());
 *
 * Two kinds of rule: `threshold` (value compared with a fixed number) and `anomaly` (the KPI left
 * its EWMA baseline; the monitor supplies the verdict in the input).
 */
import { randomUUID } from 'node:crypto';
import { MetricsError } from './errors.js';
import { compare, type Comparison } from './kpis.js';

export type Severity = 'warning' | 'critical';

export interface ThresholdRule {
  kind?: 'threshold';
  /** Unique, e.g. `latency-p95-warning`. */
  name: string;
  /** The KPI it watches, e.g. `http.latency.p95`. */
  kpi: string;
  comparison: Comparison;
  threshold: number;
  /** How long the condition must hold before the alert fires, ms. */
  forMs: number;
  severity: Severity;
  /** Clearing needs the value back past the threshold by this fraction of it (0.05 = 5%). */
  hysteresis?: number;
  description?: string;
}

export interface AnomalyRule {
  kind: 'anomaly';
  name: string;
  kpi: string;
  forMs: number;
  severity: Severity;
  description?: string;
}

export type AlertRule = ThresholdRule | AnomalyRule;

/** What the engine reads per KPI at each evaluation. */
export interface AlertInput {
  /** NaN when there is no data: the condition does not hold. */
  value: number;
  /** Anomaly verdict and band (anomaly rules only). */
  anomalous?: boolean;
  baseline?: number;
  upper?: number;
}

export type AlertEventState = 'pending' | 'firing' | 'resolved' | 'cancelled';

export interface AlertEvent {
  /** Unique per event. */
  id: string;
  /** Shared by every event of one alert instance (pending → firing → resolved). */
  alertId: string;
  rule: string;
  kind: 'threshold' | 'anomaly';
  kpi: string;
  severity: Severity;
  state: AlertEventState;
  /** The KPI value that caused the transition; null without data. */
  value: number | null;
  /** The threshold (anomaly rules: the band's upper edge when it started). */
  threshold: number | null;
  comparison: Comparison | null;
  /** Epoch ms of this transition. */
  at: number;
  /** When the condition started holding. */
  activeSince: number;
  message: string;
}

export interface ActiveAlert {
  alertId: string;
  rule: string;
  kind: 'threshold' | 'anomaly';
  kpi: string;
  severity: Severity;
  state: 'pending' | 'firing';
  value: number | null;
  threshold: number | null;
  comparison: Comparison | null;
  activeSince: number;
  firingSince: number | null;
  message: string;
  description?: string;
}

interface RuleState {
  rule: AlertRule;
  phase: 'inactive' | 'pending' | 'firing';
  alertId: string;
  activeSince: number;
  firingSince: number | null;
  value: number | null;
  threshold: number | null;
  /** The last reading, for messages about an alert between evaluations. */
  input: AlertInput | undefined;
}

const RULE_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,99}$/;
const KPI_RE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+){0,5}$/;
export const MAX_RULES = 200;
/** Longest for-duration accepted (a day): longer is a typo more often than an intent. */
export const MAX_FOR_MS = 86_400_000;

/** Checks a rule set; throws ALERT_RULE_INVALID naming the rule (by index and name) and the key. */
export function validateRules(rules: readonly AlertRule[]): void {
  if (!Array.isArray(rules)) throw new MetricsError('ALERT_RULE_INVALID', 'alert rules must be a list');
  if (rules.length > MAX_RULES) throw new MetricsError('METRICS_LIMIT', `at most ${MAX_RULES} alert rules (got ${rules.length})`, { limit: MAX_RULES });
  const names = new Set<string>();
  rules.forEach((r, i) => {
    const at = (key: string, why: string): never => {
      throw new MetricsError('ALERT_RULE_INVALID', `alert rule #${i}${typeof r?.name === 'string' ? ` (${r.name})` : ''}: ${key} ${why}`, { index: i, rule: r?.name, key });
    };
    if (typeof r !== 'object' || r === null) at('rule', 'must be an object');
    if (typeof r.name !== 'string' || !RULE_NAME_RE.test(r.name)) at('name', 'must be 1..100 chars of letters, digits, _ . : -');
    if (names.has(r.name)) at('name', 'is used by another rule');
    names.add(r.name);
    if (typeof r.kpi !== 'string' || !KPI_RE.test(r.kpi)) at('kpi', 'must be a KPI name such as http.latency.p95');
    if (r.severity !== 'warning' && r.severity !== 'critical') at('severity', 'must be warning or critical');
    if (!Number.isInteger(r.forMs) || r.forMs < 0 || r.forMs > MAX_FOR_MS) at('forMs', `must be an integer from 0 to ${MAX_FOR_MS}`);
    if (r.kind === 'anomaly') return;
    if (r.kind !== undefined && r.kind !== 'threshold') at('kind', 'must be threshold or anomaly');
    if (!['>', '>=', '<', '<='].includes(r.comparison)) at('comparison', 'must be one of > >= < <=');
    if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) at('threshold', 'must be a finite number');
    if (r.hysteresis !== undefined && !(r.hysteresis >= 0 && r.hysteresis < 1)) at('hysteresis', 'must be in [0, 1)');
  });
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'no data';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

export interface AlertEngineOptions {
  rules: readonly AlertRule[];
  /** Told of every transition, synchronously, in order. Keep it cheap (queue the slow work). */
  onEvent: (e: AlertEvent) => void;
  newId?: () => string;
}

export class AlertEngine {
  private states = new Map<string, RuleState>();
  private readonly onEvent: (e: AlertEvent) => void;
  private readonly newId: () => string;

  constructor(opts: AlertEngineOptions) {
    this.onEvent = opts.onEvent;
    this.newId = opts.newId ?? randomUUID;
    this.setRules(opts.rules);
  }

  /**
   * Replaces the rule set (config reload). A rule kept with the same definition keeps its state; a
   * removed or changed rule that was firing is resolved now.
   */
  setRules(rules: readonly AlertRule[], now = Date.now()): void {
    validateRules(rules);
    const next = new Map<string, RuleState>();
    for (const rule of rules) {
      const prev = this.states.get(rule.name);
      if (prev && JSON.stringify(prev.rule) === JSON.stringify(rule)) next.set(rule.name, prev);
      else next.set(rule.name, { rule, phase: 'inactive', alertId: '', activeSince: 0, firingSince: null, value: null, threshold: null, input: undefined });
    }
    for (const [name, st] of this.states) {
      if (next.get(name) === st) continue;
      if (st.phase === 'firing') this.emit(st, 'resolved', now, st.value, `${name}: resolved (rule changed or removed)`);
      else if (st.phase === 'pending') this.emit(st, 'cancelled', now, st.value, `${name}: cancelled (rule changed or removed)`);
    }
    this.states = next;
  }

  rules(): AlertRule[] {
    return [...this.states.values()].map((s) => s.rule);
  }

  /** Evaluates every rule against `inputs` (KPI name → reading) at time `now`; returns the transitions. */
  evaluate(inputs: ReadonlyMap<string, AlertInput>, now: number): AlertEvent[] {
    const events: AlertEvent[] = [];
    for (const st of this.states.values()) {
      const input = inputs.get(st.rule.kpi);
      const value = input !== undefined && Number.isFinite(input.value) ? input.value : null;
      const active = st.phase !== 'inactive';
      const holds = this.holds(st.rule, input, value, active);
      if (holds) {
        st.value = value;
        st.input = input;
        if (!active) {
          st.phase = 'pending';
          st.alertId = this.newId();
          st.activeSince = now;
          st.firingSince = null;
          st.threshold = st.rule.kind === 'anomaly' ? (input?.upper ?? null) : st.rule.threshold;
          events.push(this.emit(st, 'pending', now, value, this.describe(st, value, input, 'pending')));
        }
        if (st.phase === 'pending' && now - st.activeSince >= st.rule.forMs) {
          st.phase = 'firing';
          st.firingSince = now;
          events.push(this.emit(st, 'firing', now, value, this.describe(st, value, input, 'firing')));
        }
      } else if (active) {
        const state = st.phase === 'firing' ? 'resolved' : 'cancelled';
        events.push(this.emit(st, state, now, value, this.describe(st, value, input, state)));
        st.phase = 'inactive';
        st.firingSince = null;
      }
    }
    return events;
  }

  private holds(rule: AlertRule, input: AlertInput | undefined, value: number | null, active: boolean): boolean {
    if (value === null || input === undefined) return false;
    if (rule.kind === 'anomaly') return input.anomalous === true;
    if (!active) return compare(value, rule.comparison, rule.threshold);
    // Hysteresis: once active, the alert clears only when the value is back past the threshold by a margin.
    const margin = Math.abs(rule.threshold) * (rule.hysteresis ?? 0);
    const below = rule.comparison === '>' || rule.comparison === '>=';
    return compare(value, rule.comparison, below ? rule.threshold - margin : rule.threshold + margin);
  }

  private describe(st: RuleState, value: number | null, input: AlertInput | undefined, state: AlertEventState): string {
    const r = st.rule;
    if (r.kind === 'anomaly') {
      const why = state === 'resolved' || state === 'cancelled' ? 'is back within its baseline' : `left its baseline ${fmt(input?.baseline)} (band up to ${fmt(input?.upper)})`;
      return `${r.severity} ${r.name}: ${r.kpi} = ${fmt(value)} ${why}`;
    }
    const cond = `${r.kpi} ${r.comparison} ${fmt(r.threshold)}`;
    if (state === 'pending') return `${r.severity} ${r.name}: ${r.kpi} = ${fmt(value)} (${cond}); fires if it holds for ${r.forMs / 1000} s`;
    if (state === 'firing') return `${r.severity} ${r.name}: ${r.kpi} = ${fmt(value)} (${cond}) for ${r.forMs / 1000} s`;
    return `${r.severity} ${r.name} ${state}: ${r.kpi} = ${fmt(value)}, no longer ${cond}`;
  }

  private emit(st: RuleState, state: AlertEventState, now: number, value: number | null, message: string): AlertEvent {
    const r = st.rule;
    const e: AlertEvent = {
      id: this.newId(),
      alertId: st.alertId,
      rule: r.name,
      kind: r.kind === 'anomaly' ? 'anomaly' : 'threshold',
      kpi: r.kpi,
      severity: r.severity,
      state,
      value,
      threshold: st.threshold,
      comparison: r.kind === 'anomaly' ? '>' : r.comparison,
      at: now,
      activeSince: st.activeSince,
      message,
    };
    this.onEvent(e);
    return e;
  }

  /** Pending and firing alerts, firing first, critical before warning. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const st of this.states.values()) {
      if (st.phase === 'inactive') continue;
      const r = st.rule;
      out.push({
        alertId: st.alertId,
        rule: r.name,
        kind: r.kind === 'anomaly' ? 'anomaly' : 'threshold',
        kpi: r.kpi,
        severity: r.severity,
        state: st.phase,
        value: st.value,
        threshold: st.threshold,
        comparison: r.kind === 'anomaly' ? '>' : r.comparison,
        activeSince: st.activeSince,
        firingSince: st.firingSince,
        message: this.describe(st, st.value, st.input, st.phase),
        ...(r.description ? { description: r.description } : {}),
      });
    }
    const rank = (a: ActiveAlert): number => (a.state === 'firing' ? 0 : 2) + (a.severity === 'critical' ? 0 : 1);
    return out.sort((a, b) => rank(a) - rank(b) || a.activeSince - b.activeSince);
  }
}
