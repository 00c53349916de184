import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { MetricsRegistry } from '../../platform/metrics/types.js';
import { REVIEW_CHOICES } from './builtin/expert.js';
import { CIRCLE_DEFAULTS, MAX_EXPERTS, runCircle } from './circle.js';
import type { CircleOptions } from './circle.js';
import { ExpertsError, describeError } from './errors.js';
import { canonicalJson, consultationHash } from './hash.js';
import type { ConsultationResult, Expert, ExpertReport, Question } from './types.js';

/** A consultation as the API and CLI send it. */
export interface ConsultRequest extends Question {
  /** Names of the experts to ask; all configured experts when absent. */
  experts?: readonly string[];
  /** Run the peer-ranking round (LLM experts). */
  peerRanking?: boolean;
  /** Do not answer from the cache (the fresh result is still cached and stored). */
  fresh?: boolean;
}

/** The slice of the tiered cache (src/platform/cache) the service needs; a TieredCache fits as is. */
export interface ConsultationCache {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, options?: { ttl?: number }): Promise<void>;
}

/** Where finished consultations are kept (the store repository in the engine). */
export interface ConsultationHistory {
  save(result: ConsultationResult): Promise<void>;
  get(id: string): Promise<ConsultationResult | undefined>;
}

export type ConsultationState =
  | { state: 'running'; id: string; startedAt: number }
  | { state: 'done'; id: string; result: ConsultationResult }
  | { state: 'failed'; id: string; error: { code: string; message: string } };

export type BatchItem = { ok: true; result: ConsultationResult } | { ok: false; error: { code: string; message: string } };

export interface ExpertsServiceOptions {
  experts: readonly Expert[];
  circle?: CircleOptions;
  cache?: ConsultationCache;
  /** How long a cached result is reused (default 1 h). Degraded results are never cached. */
  cacheTtlMs?: number;
  history?: ConsultationHistory;
  metrics?: MetricsRegistry;
  /** Consultations of one batch run at once (default 4). */
  batchConcurrency?: number;
  /** Items in one batch (default 100). */
  maxBatch?: number;
  /** Background consultations at once (default 1,000). */
  maxRunning?: number;
  /** Wall clock (epoch ms) for createdAt. */
  clock?: () => number;
  newId?: () => string;
  /**
   * Run-time switches (feature flags), read per consultation: `cache` off → no cache reads or writes;
   * `earlyReturn` off → the circle always waits for every expert (or the deadline).
   */
  flags?: { cache?: () => boolean; earlyReturn?: () => boolean };
  /** Told when the cache or the history fails; the consultation itself goes on. */
  onInternalError?: (err: unknown, where: 'cache' | 'history') => void;
}

export const REQUEST_LIMITS = {
  questionChars: 8_000,
  choices: 26,
  choiceChars: 200,
  contextBytes: 256 * 1024,
} as const;

export function newConsultationId(): string {
  return `cons_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

/** Validates a request; returns the question as the experts will see it. */
export function normaliseRequest(req: ConsultRequest): Question {
  const bad = (key: string, message: string, extra: Record<string, unknown> = {}): never => {
    throw new ExpertsError('EXPERTS_INVALID_REQUEST', `${key}: ${message}`, { key, ...extra });
  };
  if (!req || typeof req !== 'object') bad('request', 'must be an object');
  if (typeof req.question !== 'string' || req.question.trim() === '') bad('question', 'must be a non-empty string');
  if (req.question.length > REQUEST_LIMITS.questionChars) bad('question', `is longer than ${REQUEST_LIMITS.questionChars} characters`, { limit: REQUEST_LIMITS.questionChars });
  const kind = req.kind ?? 'question';
  if (kind !== 'question' && kind !== 'review') bad('kind', 'must be "question" or "review"');
  let choices: string[] | undefined;
  if (req.choices !== undefined && req.choices !== null) {
    if (!Array.isArray(req.choices)) bad('choices', 'must be an array of strings');
    if (req.choices.length > 0) {
      if (req.choices.length < 2) bad('choices', 'needs at least 2 choices');
      if (req.choices.length > REQUEST_LIMITS.choices) bad('choices', `at most ${REQUEST_LIMITS.choices} choices`, { limit: REQUEST_LIMITS.choices });
      const seen = new Set<string>();
      choices = req.choices.map((c, i) => {
        if (typeof c !== 'string' || c.trim() === '') bad(`choices[${i}]`, 'must be a non-empty string');
        if (c.length > REQUEST_LIMITS.choiceChars) bad(`choices[${i}]`, `is longer than ${REQUEST_LIMITS.choiceChars} characters`);
        const k = c.trim().toLowerCase();
        if (seen.has(k)) bad(`choices[${i}]`, `repeats ${JSON.stringify(c)}`);
        seen.add(k);
        return c.trim();
      });
    }
  }
  if (kind === 'review' && !choices) choices = [...REVIEW_CHOICES];
  if (req.context !== undefined) {
    let size: number;
    try {
      size = Buffer.byteLength(typeof req.context === 'string' ? req.context : canonicalJson(req.context) ?? '');
    } catch (err) {
      return bad('context', `cannot be serialised: ${(err as Error).message}`);
    }
    if (size > REQUEST_LIMITS.contextBytes) bad('context', `is larger than ${REQUEST_LIMITS.contextBytes} bytes`, { limit: REQUEST_LIMITS.contextBytes, size });
  }
  return { kind, question: req.question.trim(), ...(choices ? { choices } : {}), ...(req.context !== undefined ? { context: req.context } : {}) };
}

interface Instruments {
  latency: ReturnType<MetricsRegistry['histogram']>;
  calls: ReturnType<MetricsRegistry['counter']>;
  tokens: ReturnType<MetricsRegistry['counter']>;
  cost: ReturnType<MetricsRegistry['counter']>;
  consultations: ReturnType<MetricsRegistry['counter']>;
  duration: ReturnType<MetricsRegistry['histogram']>;
}

/**
 * The experts capability as the engine uses it: validates a request, answers from the cache when it
 * can, runs the circle, records metrics per expert, keeps the history, and runs consultations in the
 * background for polling, or in batches.
 */
export class ExpertsService {
  private readonly experts: readonly Expert[];
  private readonly byName: Map<string, Expert>;
  private circle: CircleOptions;
  private batchConcurrency: number | undefined;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly running = new Map<string, { controller: AbortController; startedAt: number; done: Promise<void> }>();
  private readonly finished = new LRUCache<string, ConsultationState>({ max: 1_000 });
  private readonly m: Instruments | null;
  private closed = false;

  constructor(private readonly opts: ExpertsServiceOptions) {
    if (opts.experts.length > MAX_EXPERTS) throw new ExpertsError('EXPERTS_CONFIG_INVALID', `experts: at most ${MAX_EXPERTS} experts`, { limit: MAX_EXPERTS });
    this.experts = opts.experts;
    this.byName = new Map();
    for (const e of opts.experts) {
      if (this.byName.has(e.name)) throw new ExpertsError('EXPERTS_CONFIG_INVALID', `experts: two experts are named "${e.name}"`, { key: 'experts', name: e.name });
      this.byName.set(e.name, e);
    }
    this.circle = { ...opts.circle };
    this.batchConcurrency = opts.batchConcurrency;
    this.clock = opts.clock ?? Date.now;
    this.newId = opts.newId ?? newConsultationId;
    const reg = opts.metrics;
    this.m = reg
      ? {
          latency: reg.histogram({ name: 'code_expert_latency_ms', help: 'Time one expert took to answer, by expert and status', labelNames: ['expert', 'status'], unit: 'ms' }),
          calls: reg.counter({ name: 'code_expert_answers_total', help: 'Expert outcomes by expert and status (ok, error, timeout, abstain, skipped)', labelNames: ['expert', 'status'] }),
          tokens: reg.counter({ name: 'code_expert_tokens_total', help: 'Tokens used by LLM experts, by expert and direction (input, output)', labelNames: ['expert', 'direction'] }),
          cost: reg.counter({ name: 'code_expert_cost_usd_total', help: 'Estimated cost of LLM experts in USD, from configured prices', labelNames: ['expert'] }),
          consultations: reg.counter({ name: 'code_consultations_total', help: 'Consultations by outcome (ok, degraded, cached, failed)', labelNames: ['outcome'] }),
          duration: reg.histogram({ name: 'code_consultation_duration_ms', help: 'Time of one consultation, cache hits included', unit: 'ms' }),
        }
      : null;
    reg?.gaugeCallback({ name: 'code_consultations_running', help: 'Background consultations running', collect: () => this.running.size });
  }

  /** Applies changed circle options (live config keys) to the consultations started from now on. */
  configure(circle: CircleOptions, batchConcurrency?: number): void {
    this.circle = { ...circle };
    if (batchConcurrency !== undefined) this.batchConcurrency = batchConcurrency;
  }

  /** The circle options in force. */
  options(): Readonly<CircleOptions> {
    return this.circle;
  }

  /** The configured experts. */
  list(): Array<{ name: string; kind: 'llm' | 'builtin'; fingerprint: string; weight: number }> {
    return this.experts.map((e) => ({ name: e.name, kind: e.kind, fingerprint: e.fingerprint, weight: e.weight ?? 1 }));
  }

  private select(names: readonly string[] | undefined): Expert[] {
    if (names === undefined || names.length === 0) {
      if (this.experts.length === 0) throw new ExpertsError('EXPERTS_NO_EXPERTS', 'no experts are configured (experts.providers, experts.builtin)');
      return [...this.experts];
    }
    if (!Array.isArray(names)) throw new ExpertsError('EXPERTS_INVALID_REQUEST', 'experts: must be an array of names', { key: 'experts' });
    const out: Expert[] = [];
    for (const n of new Set(names)) {
      const e = this.byName.get(n);
      if (!e) throw new ExpertsError('EXPERTS_UNKNOWN_EXPERT', `unknown expert "${n}" (configured: ${[...this.byName.keys()].join(', ') || 'none'})`, { key: 'experts', name: n });
      out.push(e);
    }
    return out;
  }

  private record(r: ExpertReport): void {
    const m = this.m;
    if (!m) return;
    m.calls.inc({ expert: r.name, status: r.status });
    if (r.status !== 'skipped' && r.status !== 'abstain') m.latency.record(r.latencyMs, { expert: r.name, status: r.status });
    if (r.tokens) {
      if (r.tokens.inputTokens > 0) m.tokens.inc({ expert: r.name, direction: 'input' }, r.tokens.inputTokens);
      if (r.tokens.outputTokens > 0) m.tokens.inc({ expert: r.name, direction: 'output' }, r.tokens.outputTokens);
    }
    if (r.costUsd) m.cost.inc({ expert: r.name }, r.costUsd);
  }

  /** Runs one consultation and waits for its result. */
  async consult(req: ConsultRequest, opts: { signal?: AbortSignal; id?: string } = {}): Promise<ConsultationResult> {
    if (this.closed) throw new ExpertsError('EXPERTS_CANCELLED', 'the experts service is closed');
    const t0 = performance.now();
    const question = normaliseRequest(req);
    const experts = this.select(req.experts);
    const peerRanking = req.peerRanking ?? this.circle.peerRanking ?? CIRCLE_DEFAULTS.peerRanking;
    const hash = consultationHash(question, experts.map((e) => e.fingerprint), { peerRanking });
    const id = opts.id ?? this.newId();
    try {
      const cache = this.opts.cache && (this.opts.flags?.cache?.() ?? true) ? this.opts.cache : undefined;
      if (cache && !req.fresh) {
        let hit: ConsultationResult | undefined;
        try {
          hit = await cache.get<ConsultationResult>(`experts:consultation:${hash}`);
        } catch (err) {
          this.opts.onInternalError?.(err, 'cache');
        }
        if (hit && hit.hash === hash) {
          const result: ConsultationResult = { ...hit, id, cached: true, createdAt: this.clock(), durationMs: round3(performance.now() - t0) };
          this.m?.consultations.inc({ outcome: 'cached' });
          this.m?.duration.record(result.durationMs);
          await this.saveHistory(result);
          return result;
        }
      }
      const outcome = await runCircle(experts, question, {
        ...this.circle,
        earlyReturn: (this.circle.earlyReturn ?? CIRCLE_DEFAULTS.earlyReturn) && (this.opts.flags?.earlyReturn?.() ?? true),
        peerRanking,
        seed: hash,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onReport: (r) => this.record(r),
      });
      const { stoppedBy: _s, ...rest } = outcome;
      const result: ConsultationResult = {
        id,
        kind: question.kind ?? 'question',
        question: question.question,
        choices: question.choices ? [...question.choices] : null,
        ...rest,
        hash,
        cached: false,
        createdAt: this.clock(),
      };
      this.m?.consultations.inc({ outcome: result.degraded ? 'degraded' : 'ok' });
      this.m?.duration.record(performance.now() - t0);
      if (cache && !result.degraded) {
        try {
          await cache.set(`experts:consultation:${hash}`, result, { ttl: this.opts.cacheTtlMs ?? 3_600_000 });
        } catch (err) {
          this.opts.onInternalError?.(err, 'cache');
        }
      }
      await this.saveHistory(result);
      return result;
    } catch (err) {
      this.m?.consultations.inc({ outcome: 'failed' });
      throw err;
    }
  }

  private async saveHistory(result: ConsultationResult): Promise<void> {
    if (!this.opts.history) return;
    try {
      await this.opts.history.save(result);
    } catch (err) {
      this.opts.onInternalError?.(err, 'history');
    }
  }

  /**
   * Starts a consultation in the background and returns its id at once; poll with `get(id)`.
   * Validation errors throw here, before anything runs.
   */
  start(req: ConsultRequest): { id: string } {
    if (this.closed) throw new ExpertsError('EXPERTS_CANCELLED', 'the experts service is closed');
    const max = this.opts.maxRunning ?? 1_000;
    if (this.running.size >= max) throw new ExpertsError('EXPERTS_BUSY', `${max} consultations are already running; try again later`, { limit: max });
    normaliseRequest(req);
    this.select(req.experts);
    const id = this.newId();
    const controller = new AbortController();
    const startedAt = this.clock();
    const done = this.consult(req, { signal: controller.signal, id }).then(
      (result) => {
        this.finished.set(id, { state: 'done', id, result });
      },
      (err) => {
        const d = describeError(err);
        this.finished.set(id, { state: 'failed', id, error: { code: d.code ?? 'EXPERTS_INTERNAL', message: d.reason } });
      },
    ).finally(() => {
      this.running.delete(id);
    });
    this.running.set(id, { controller, startedAt, done });
    return { id };
  }

  /** The state of a consultation: running, done (with its result) or failed; undefined when unknown. */
  async get(id: string): Promise<ConsultationState | undefined> {
    const r = this.running.get(id);
    if (r) return { state: 'running', id, startedAt: r.startedAt };
    const f = this.finished.get(id);
    if (f) return f;
    if (!this.opts.history) return undefined;
    const result = await this.opts.history.get(id);
    return result ? { state: 'done', id, result } : undefined;
  }

  /** Cancels a background consultation; true when it was running. */
  cancel(id: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    r.controller.abort();
    return true;
  }

  /** Runs many consultations, `batchConcurrency` at a time; one failing does not fail the others. */
  async batch(requests: readonly ConsultRequest[], opts: { signal?: AbortSignal; concurrency?: number } = {}): Promise<BatchItem[]> {
    const max = this.opts.maxBatch ?? 100;
    if (!Array.isArray(requests) || requests.length === 0) throw new ExpertsError('EXPERTS_INVALID_REQUEST', 'batch: needs at least one consultation', { key: 'consultations' });
    if (requests.length > max) throw new ExpertsError('EXPERTS_INVALID_REQUEST', `batch: at most ${max} consultations`, { key: 'consultations', limit: max });
    const concurrency = Math.max(1, Math.min(opts.concurrency ?? this.batchConcurrency ?? 4, requests.length));
    const out: BatchItem[] = new Array(requests.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const i = next++;
        if (opts.signal?.aborted) {
          out[i] = { ok: false, error: { code: 'EXPERTS_CANCELLED', message: 'the batch was cancelled' } };
          continue;
        }
        try {
          out[i] = { ok: true, result: await this.consult(requests[i]!, opts.signal ? { signal: opts.signal } : {}) };
        } catch (err) {
          const d = describeError(err);
          out[i] = { ok: false, error: { code: d.code ?? 'EXPERTS_INTERNAL', message: d.reason } };
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  }

  /** Cancels the background consultations and waits for them to settle. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.running.values()];
    for (const r of pending) r.controller.abort();
    await Promise.all(pending.map((r) => r.done));
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
