/**
 * Shared types of the memory monitor: what a sample holds, the pressure levels, the events the
 * monitor emits and the tiny interfaces it acts through (so it never depends on the cache's or the
 * resilience module's internals: the engine adapts them).
 */

/** Pressure levels, in rising order. Numeric order matters: compare with `LEVEL_RANK`. */
export type PressureLevel = 'normal' | 'moderate' | 'high' | 'critical';

export const LEVELS: readonly PressureLevel[] = ['normal', 'moderate', 'high', 'critical'];

export const LEVEL_RANK: Readonly<Record<PressureLevel, number>> = { normal: 0, moderate: 1, high: 2, critical: 3 };

/**
 * What a pressure ratio is a fraction of.
 * - `heap`: V8 old generation used / its limit (what kills the process with "heap out of memory").
 * - `cgroup`: the container's working set (usage minus inactive page cache) / its memory limit.
 * - `constrained`: RSS / `process.constrainedMemory()` when the runtime reports a real limit.
 * - `cap`: RSS / the configured cap (`capBytes`).
 * - `system`: 1 − MemAvailable / MemTotal of the machine.
 * - `swap`: swap used / swap total of the machine.
 */
export type Dimension = 'heap' | 'cgroup' | 'constrained' | 'cap' | 'system' | 'swap';

export const DIMENSIONS: readonly Dimension[] = ['heap', 'cgroup', 'constrained', 'cap', 'system', 'swap'];

export interface CgroupReading {
  version: 1 | 2;
  /** Bytes; null when the cgroup has no limit ("max" or the v1 near-2^63 sentinel). */
  limit: number | null;
  usage: number | null;
  /** usage − inactive file cache: what the kernel cannot simply drop (kubelet's "working set"). */
  workingSet: number | null;
  swapUsage: number | null;
}

export interface SystemReading {
  memTotal: number;
  memAvailable: number;
  swapTotal: number;
  swapFree: number;
}

export interface EventLoopReading {
  /** Event-loop delay over the last sampling interval, milliseconds. */
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  /** Event-loop utilisation over the last interval, 0..1. */
  utilization: number;
}

/** One reading of every source, taken together. Byte figures are bytes. */
export interface MemorySample {
  /** Epoch milliseconds (from the monitor's clock). */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** V8's heap_size_limit: old generation + young generation reservation. */
  heapSizeLimit: number;
  /** Live and not-yet-collected bytes in the old generation and large-object spaces. */
  oldUsed: number;
  /**
   * Bytes committed to those spaces (pages, fragmentation included). This is what V8 checks against
   * the old-space limit before it grows: a leak of small objects dies with oldUsed near 75% of the
   * limit and oldCommitted at 100%.
   */
  oldCommitted: number;
  /** The old-generation limit, derived from heap_size_limit and the V8 flags. */
  oldLimit: number;
  /** Bytes committed to the young generation (semi-spaces and new large objects): grows under load, trimmed when idle. */
  youngCommitted: number;
  external: number;
  arrayBuffers: number;
  cgroup: CgroupReading | null;
  /** `process.constrainedMemory()` when it reports a real limit, else null. */
  constrained: number | null;
  system: SystemReading | null;
  eventLoop: EventLoopReading;
}

/** Something that can give memory back on demand and take it again later (an L1 cache). */
export interface Shrinkable {
  /** Keep at most `fraction` (0..1) of the normal capacity; evict what does not fit. */
  shrink(fraction: number): void;
  /** Back to the normal capacity. */
  restore(): void;
}

/** Something that can be turned off by hand (a circuit breaker guarding optional work). */
export interface Isolatable {
  isolate(): void;
  release(): void;
}

/** The kind of thing a responder did, for events, metrics and the KPI "last action". */
export type ActionKind = 'apply' | 'escalate' | 'relax' | 'repeat' | 'undo';

export interface ActionRecord {
  responder: string;
  action: ActionKind;
  level: PressureLevel;
  at: number;
  detail?: string;
}

export type MemoryEvent =
  | { type: 'level'; from: PressureLevel; to: PressureLevel; ratio: number; dimension: Dimension | null; at: number }
  | ({ type: 'action' } & ActionRecord)
  | { type: 'alert'; name: 'memory.critical-soon'; state: 'firing' | 'resolved'; timeToCriticalMs: number | null; at: number }
  | { type: 'alert'; name: 'memory.leak'; state: 'firing' | 'resolved'; growthMbPerHour: number; at: number }
  | { type: 'error'; source: string; message: string; at: number }
  /** The idle trimmer ran a scavenge (src/platform/memory/idle-trim.ts); sizes of the young generation around it. */
  | { type: 'trim'; beforeBytes: number; afterBytes: number; at: number };

/** A plain snapshot of the monitor, for /v1/kpis, the dashboard and the CLI. */
export interface MemorySnapshot {
  running: boolean;
  level: PressureLevel;
  /** The highest ratio over the watched dimensions, 0..1+ (0 before the first sample). */
  ratio: number;
  /** The dimension that set `ratio`. */
  dimension: Dimension | null;
  ratios: Partial<Record<Dimension, number>>;
  /** The smallest real limit in bytes (old-space limit, cgroup limit, constrained memory, cap). */
  effectiveLimitBytes: number | null;
  /** Predicted milliseconds until the critical level; null when not rising (or too few samples). */
  timeToCriticalMs: number | null;
  /** Heap-after-GC growth over the leak windows, MB per hour (null until two windows closed). */
  growthMbPerHour: number | null;
  leakSuspected: boolean;
  lastAction: ActionRecord | null;
  /** Responders currently engaged, in the order they engaged. */
  engaged: Array<{ name: string; level: PressureLevel; since: number }>;
  sample: MemorySample | null;
  samples: number;
}
