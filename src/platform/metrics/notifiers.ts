/**
 * Where alert transitions go: the log, and webhooks (POST JSON with a timeout and retries with
 * backoff). A `NotificationQueue` delivers them off the evaluation path with a bound on deliveries
 * in flight, so a slow receiver never slows sampling and never grows memory without limit.
 *
 *   const queue = new NotificationQueue([logNotifier(log), webhookNotifier({ url, post })], { onError });
 *   queue.push(event);
 *   await queue.drain();
 */
import type { HttpClient } from '../net/index.js';
import { parseRetryAfter, Retry, Timeout, wrap } from '../resilience/index.js';
import type { AlertEvent, AlertEventState } from './alerts.js';
import { hasCode } from '../errors.js';
import { MetricsError } from './errors.js';

export interface AlertNotifier {
  readonly name: string;
  /** Which transitions it wants. */
  accepts(state: AlertEventState): boolean;
  notify(e: AlertEvent, signal: AbortSignal): Promise<void>;
}

/** The pino-shaped subset the log notifier writes to. */
export interface NotifyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Logs every transition: firing critical as error, firing warning as warn, the rest as info. */
export function logNotifier(log: NotifyLogger): AlertNotifier {
  return {
    name: 'log',
    accepts: () => true,
    async notify(e) {
      const fields = { alert: { rule: e.rule, kpi: e.kpi, severity: e.severity, state: e.state, value: e.value, threshold: e.threshold, alertId: e.alertId } };
      if (e.state === 'firing') (e.severity === 'critical' ? log.error : log.warn).call(log, fields, e.message);
      else log.info(fields, e.message);
    },
  };
}

/**
 * One HTTP POST; resolves with the response status (and a Retry-After wait if the server sent one),
 * rejects on a network error. The engine adapts its HTTP client (src/platform/net) to this.
 */
export type HttpPost = (
  url: string,
  body: string,
  opts: { headers: Record<string, string>; signal: AbortSignal; timeoutMs: number },
) => Promise<{ status: number; retryAfterMs?: number }>;

/**
 * HttpPost through the engine's HTTP client (pooled, bounded, with its breaker per origin). One
 * attempt per call: the webhook notifier owns the retries and their backoff.
 */
export function httpClientPost(client: HttpClient): HttpPost {
  return async (url, body, { headers, signal, timeoutMs }) => {
    const res = await client.request(url, { method: 'POST', body, headers, signal, timeoutMs, maxAttempts: 1, idempotent: false });
    await res.dump();
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return retryAfterMs === undefined ? { status: res.status } : { status: res.status, retryAfterMs };
  };
}

export interface WebhookOptions {
  url: string;
  post: HttpPost;
  /** Per attempt. Default 5,000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** First backoff ceiling; doubles per retry, with full jitter. Default 200 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Extra headers (e.g. an Authorization the receiver wants). */
  headers?: Record<string, string>;
  /** Default: firing and resolved. */
  states?: readonly AlertEventState[];
  random?: () => number;
}

/** The JSON body a webhook receives. */
export interface WebhookPayload {
  source: 'code-engine';
  version: 1;
  event: AlertEvent;
}

export function webhookNotifier(opts: WebhookOptions): AlertNotifier {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new MetricsError('ALERT_RULE_INVALID', `webhook url "${opts.url}" is not a URL`, { key: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MetricsError('ALERT_RULE_INVALID', `webhook url must be http(s): ${url.protocol}`, { key: 'url' });
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const states = new Set(opts.states ?? ['firing', 'resolved']);
  const retryable = new Set([408, 425, 429, 500, 502, 503, 504]);
  const timeout = new Timeout(timeoutMs, { name: 'alert-webhook' });
  const retry = new Retry({
    name: 'alert-webhook',
    maxAttempts: (opts.retries ?? 3) + 1,
    baseDelayMs: opts.baseDelayMs ?? 200,
    maxDelayMs: opts.maxDelayMs ?? 5_000,
    idempotent: true, // the receiver dedupes on event.id
    retryOn: (err) => !(hasCode(err, 'ALERT_WEBHOOK_FAILED') && err.details?.permanent === true),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const policy = wrap(retry, timeout);
  const headers = { 'content-type': 'application/json', 'user-agent': 'code-engine-alerts/1', ...(opts.headers ?? {}) };
  const target = url.toString();
  return {
    name: `webhook:${url.host}`,
    accepts: (s) => states.has(s),
    async notify(e, signal) {
      const body = JSON.stringify({ source: 'code-engine', version: 1, event: e } satisfies WebhookPayload);
      await policy.execute(async ({ signal: attemptSignal, attempt }) => {
        const res = await opts.post(target, body, { headers: { ...headers, 'x-code-attempt': String(attempt), 'x-code-event-id': e.id }, signal: attemptSignal, timeoutMs });
        if (res.status >= 200 && res.status < 300) return;
        const permanent = !retryable.has(res.status);
        const details = { url: target, status: res.status, permanent, ...(res.retryAfterMs !== undefined ? { retryAfterMs: res.retryAfterMs } : {}) };
        throw new MetricsError('ALERT_WEBHOOK_FAILED', `webhook ${target} answered ${res.status}${permanent ? ' (not retried)' : ''}`, details);
      }, signal);
    },
  };
}

export interface NotificationQueueOptions {
  /** Deliveries in flight at most; beyond, the oldest waiting events are dropped (and reported). Default 100. */
  maxQueued?: number;
  onError?: (notifier: string, e: AlertEvent, err: unknown) => void;
  onDrop?: (e: AlertEvent) => void;
}

export class NotificationQueue {
  private readonly waiting: AlertEvent[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private readonly maxQueued: number;
  private running = false;
  delivered = 0;
  failed = 0;
  dropped = 0;

  constructor(
    private notifiers: readonly AlertNotifier[],
    private readonly opts: NotificationQueueOptions = {},
  ) {
    this.maxQueued = opts.maxQueued ?? 100;
  }

  setNotifiers(notifiers: readonly AlertNotifier[]): void {
    this.notifiers = notifiers;
  }

  /** Queues an event for every notifier that accepts it. Never throws, never waits. */
  push(e: AlertEvent): void {
    if (this.controller.signal.aborted) return;
    if (!this.notifiers.some((n) => n.accepts(e.state))) return;
    this.waiting.push(e);
    while (this.waiting.length > this.maxQueued) {
      const lost = this.waiting.shift()!;
      this.dropped++;
      this.opts.onDrop?.(lost);
    }
    if (!this.running) this.pump();
  }

  /** Events are delivered in order, one event at a time, to all its notifiers at once. */
  private pump(): void {
    this.running = true;
    const next = this.waiting.shift();
    if (next === undefined) {
      this.running = false;
      return;
    }
    const p = Promise.all(
      this.notifiers
        .filter((n) => n.accepts(next.state))
        .map((n) =>
          n.notify(next, this.controller.signal).then(
            () => {
              this.delivered++;
            },
            (err) => {
              this.failed++;
              this.opts.onError?.(n.name, next, err);
            },
          ),
        ),
    ).then(() => {
      this.inFlight.delete(p);
      this.pump();
    });
    this.inFlight.add(p);
  }

  /** Resolves when every queued event has been delivered or has failed. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.waiting.length > 0) {
      await Promise.all([...this.inFlight]);
      if (this.inFlight.size === 0 && this.waiting.length > 0 && !this.running) this.pump();
    }
  }

  /** Stops: aborts deliveries in flight and forgets the waiting ones. */
  async close(): Promise<void> {
    this.controller.abort(new MetricsError('METRICS_CLOSED', 'alert notifications are closed (shutting down)'));
    this.waiting.length = 0;
    await Promise.all([...this.inFlight]);
  }
}
