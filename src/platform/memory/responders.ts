/**
 * Responders: what the monitor does at each pressure level, and how it undoes it.
 *
 * Rules (fast attack, slow release):
 * - Rising pressure engages responders in the order they were given, at once, and moves an engaged
 *   one to the stronger setting of the new level at once (no cooldown: memory does not wait).
 * - A `repeat` responder (GC) acts again while its level holds, at most once per cooldown.
 * - Falling pressure relaxes (weaker setting) or undoes responders in reverse order of engagement;
 *   each waits until `cooldownMs` has passed since its own last action, and the ones below it wait
 *   for it, so the undo order is strictly the reverse of the engage order.
 */
import { MemoryError } from './errors.js';
import type { LoadShedder } from './shedder.js';
import { LEVEL_RANK, type ActionKind, type ActionRecord, type Isolatable, type MemorySample, type PressureLevel, type Shrinkable } from './types.js';

export interface Responder {
  readonly name: string;
  /** The lowest level at which it acts. */
  readonly level: PressureLevel;
  /** Least time between two of its actions that ease, repeat or retry, ms. */
  readonly cooldownMs: number;
  /** Acts again every cooldown while the level holds (a GC); others act once per level change. */
  readonly repeat?: boolean;
  /** False when it has one setting whatever the level (isolate, GC): no escalate/relax actions then. */
  readonly graded?: boolean;
  /** Sets the response for `level` (≥ this.level). May return a short detail for the action log. */
  apply(level: PressureLevel, sample: MemorySample | null): void | string | Promise<void | string>;
  /** Back to normal. Omitted for one-shot actions (a GC has nothing to undo). */
  undo?(): void | Promise<void>;
}

interface Engaged {
  level: PressureLevel;
  since: number;
  lastAt: number;
}

export type ActionListener = (record: ActionRecord) => void;
export type ErrorListener = (responder: string, err: Error) => void;

export class ResponderSet {
  private readonly responders: Responder[];
  private readonly engaged = new Map<string, Engaged>();
  /** Engaged responders' names, in engage order. */
  private readonly stack: string[] = [];
  private readonly failedAt = new Map<string, number>();

  constructor(
    responders: readonly Responder[],
    private readonly onAction: ActionListener,
    private readonly onError: ErrorListener,
  ) {
    const names = new Set<string>();
    for (const r of responders) {
      if (names.has(r.name)) throw new MemoryError('MEMORY_CONFIG_INVALID', `memory responders: duplicate name "${r.name}"`, { key: 'responders', name: r.name });
      if (!Number.isFinite(r.cooldownMs) || r.cooldownMs < 0) throw new MemoryError('MEMORY_CONFIG_INVALID', `memory responder ${r.name}: cooldownMs must be ≥ 0, got ${r.cooldownMs}`, { key: 'responders', name: r.name });
      names.add(r.name);
    }
    this.responders = [...responders];
  }

  /** Engaged responders in engage order. */
  list(): Array<{ name: string; level: PressureLevel; since: number }> {
    return this.stack.map((name) => {
      const e = this.engaged.get(name)!;
      return { name, level: e.level, since: e.since };
    });
  }

  /** Brings every responder in line with `level`; returns the actions taken, in order. */
  async update(level: PressureLevel, sample: MemorySample | null, now: number): Promise<ActionRecord[]> {
    const done: ActionRecord[] = [];
    const rank = LEVEL_RANK[level];
    // Engage / escalate / repeat, in the given order.
    for (const r of this.responders) {
      if (rank < LEVEL_RANK[r.level]) continue;
      const e = this.engaged.get(r.name);
      let kind: ActionKind | null = null;
      if (!e) kind = 'apply';
      else if (rank > LEVEL_RANK[e.level] && r.graded === false) e.level = level;
      else if (rank > LEVEL_RANK[e.level]) kind = 'escalate';
      else if (r.repeat && rank === LEVEL_RANK[e.level] && now - e.lastAt >= r.cooldownMs) kind = 'repeat';
      if (kind === null) continue;
      const failed = this.failedAt.get(r.name);
      if (failed !== undefined && now - failed < r.cooldownMs) continue;
      const ok = await this.run(r, kind, level, now, done, () => r.apply(level, sample));
      if (!ok) continue;
      if (!e) {
        this.engaged.set(r.name, { level, since: now, lastAt: now });
        this.stack.push(r.name);
      } else {
        e.level = level;
        e.lastAt = now;
      }
    }
    // Relax / undo, newest first; a responder still in its cooldown holds back those below it.
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const name = this.stack[i]!;
      const r = this.responders.find((x) => x.name === name)!;
      const e = this.engaged.get(name)!;
      const off = rank < LEVEL_RANK[r.level];
      if (!off && rank >= LEVEL_RANK[e.level]) continue;
      if (!off && r.graded === false) {
        // One setting for every level (isolated; a GC that repeats): nothing weaker to move to.
        e.level = level;
        continue;
      }
      if (off && !r.undo) {
        // Nothing to undo (a GC): let go without holding anyone back.
        this.engaged.delete(name);
        this.stack.splice(i, 1);
        continue;
      }
      if (now - e.lastAt < r.cooldownMs) break;
      if (off) {
        const ok = await this.run(r, 'undo', level, now, done, () => r.undo!());
        if (!ok) break;
        this.engaged.delete(name);
        this.stack.splice(i, 1);
      } else {
        const ok = await this.run(r, 'relax', level, now, done, () => r.apply(level, sample));
        if (!ok) break;
        e.level = level;
        e.lastAt = now;
      }
    }
    return done;
  }

  /** Undoes everything engaged, newest first, ignoring cooldowns (shutdown). */
  async releaseAll(now: number): Promise<ActionRecord[]> {
    const done: ActionRecord[] = [];
    while (this.stack.length) {
      const name = this.stack.pop()!;
      const r = this.responders.find((x) => x.name === name)!;
      this.engaged.delete(name);
      if (r.undo) await this.run(r, 'undo', 'normal', now, done, () => r.undo!());
    }
    return done;
  }

  private async run(r: Responder, action: ActionKind, level: PressureLevel, now: number, done: ActionRecord[], fn: () => unknown): Promise<boolean> {
    try {
      const detail = await fn();
      this.failedAt.delete(r.name);
      const record: ActionRecord = typeof detail === 'string' ? { responder: r.name, action, level, at: now, detail } : { responder: r.name, action, level, at: now };
      done.push(record);
      this.onAction(record);
      return true;
    } catch (err) {
      this.failedAt.set(r.name, now);
      this.onError(r.name, err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }
}

function checkFractions(name: string, fractions: Partial<Record<PressureLevel, number>>): void {
  for (const [level, f] of Object.entries(fractions)) {
    if (typeof f !== 'number' || !(f > 0 && f <= 1)) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory responder ${name}: fraction for ${level} must be in (0, 1], got ${f}`, { key: `${name}.${level}` });
    }
  }
}

/**
 * Shrinks a set of targets to a fraction per level (L1 caches, adaptive concurrency limits) and
 * restores them when pressure is over. Targets added while engaged are shrunk at once.
 */
export class ShrinkResponder implements Responder {
  readonly targets = new Set<Shrinkable>();
  private current: number | null = null;

  constructor(
    readonly name: string,
    readonly level: PressureLevel,
    /** Fraction to keep at each level from `level` up; a missing level uses the one below. */
    readonly fractions: Partial<Record<PressureLevel, number>>,
    readonly cooldownMs: number,
  ) {
    checkFractions(name, fractions);
  }

  /** Adds a target; returns a function that removes it. */
  add(target: Shrinkable): () => void {
    this.targets.add(target);
    if (this.current !== null) target.shrink(this.current);
    return () => {
      this.targets.delete(target);
    };
  }

  fractionFor(level: PressureLevel): number {
    let f = 1;
    for (const l of ['moderate', 'high', 'critical'] as const) {
      if (LEVEL_RANK[l] > LEVEL_RANK[level]) break;
      f = this.fractions[l] ?? f;
    }
    return f;
  }

  apply(level: PressureLevel): string {
    const f = this.fractionFor(level);
    this.current = f;
    for (const t of this.targets) t.shrink(f);
    return `fraction ${f} on ${this.targets.size} target(s)`;
  }

  undo(): void {
    this.current = null;
    for (const t of this.targets) t.restore();
  }
}

/** Runs `gc` once; the heap bytes it freed. */
export function collectGarbage(gc: () => void): number {
  const before = process.memoryUsage().heapUsed;
  gc();
  return before - process.memoryUsage().heapUsed;
}

/** Runs a full garbage collection, when the process was started with --expose-gc. */
export class GcResponder implements Responder {
  readonly repeat = true;
  readonly graded = false;

  constructor(
    private readonly gc: () => void,
    readonly level: PressureLevel,
    readonly cooldownMs: number,
    readonly name = 'gc',
  ) {}

  apply(): string {
    return `freed ${(collectGarbage(this.gc) / 1048576).toFixed(1)} MB`;
  }
}

/** Opens breakers by hand for optional work while pressure lasts. */
export class IsolateResponder implements Responder {
  readonly graded = false;
  readonly targets = new Set<Isolatable>();
  private isolated = false;

  constructor(
    readonly level: PressureLevel,
    readonly cooldownMs: number,
    readonly name = 'breakers.isolate',
  ) {}

  add(target: Isolatable): () => void {
    this.targets.add(target);
    if (this.isolated) target.isolate();
    return () => {
      if (this.isolated && this.targets.has(target)) target.release();
      this.targets.delete(target);
    };
  }

  apply(): string {
    if (!this.isolated) for (const t of this.targets) t.isolate();
    this.isolated = true;
    return `${this.targets.size} breaker(s) isolated`;
  }

  undo(): void {
    this.isolated = false;
    for (const t of this.targets) t.release();
  }
}

/** Sheds low-priority requests from `level`, everything but exempt routes from critical. */
export class ShedResponder implements Responder {
  constructor(
    private readonly shedder: LoadShedder,
    readonly level: PressureLevel,
    readonly cooldownMs: number,
    /** The level from which every non-exempt request is shed. */
    readonly allFrom: PressureLevel = 'critical',
    readonly name = 'shed',
  ) {
    if (LEVEL_RANK[allFrom] < LEVEL_RANK[level]) throw new MemoryError('MEMORY_CONFIG_INVALID', `memory responder ${name}: allFrom (${allFrom}) is below level (${level})`, { key: 'shed.allFrom' });
  }

  apply(level: PressureLevel): string {
    const mode = LEVEL_RANK[level] >= LEVEL_RANK[this.allFrom] ? 'all' : 'low';
    this.shedder.setMode(mode);
    return mode === 'all' ? 'shedding all but exempt routes' : 'shedding low-priority routes';
  }

  undo(): void {
    this.shedder.setMode('off');
  }
}
