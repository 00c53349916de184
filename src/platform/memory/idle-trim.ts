/**
 * Gives the young generation back once the process has gone idle.
 *
 * V8 grows the young generation (two semi-spaces, up to 16 MiB each on 64-bit) under the first
 * bursts of allocation, start-up included, and keeps it: those pages stay resident while the process
 * idles. It shrinks the young generation only at a GC that finds the allocation rate of the last 5 s
 * low, and an idle process may not collect for minutes. So once the event loop has stayed nearly
 * idle for `afterMs`, the trimmer runs one scavenge (well under a millisecond): V8 then shrinks the
 * young generation to what it holds (1 MiB semi-spaces when empty). Under load it grows again, so a
 * busy server keeps its large, cheap-to-scavenge young generation; an idle one gives ~30 MB back.
 *
 *   const trim = new IdleTrimmer((o) => gc(o), { afterMs: 6000 });
 *   monitor.on(...); // the monitor calls trim.observe(sample) on each sample
 */
import v8 from 'node:v8';
import { MemoryError } from './errors.js';
import type { MemorySample } from './types.js';

/** node --expose-gc's `gc`, which takes `{ type: 'minor' }` for a scavenge. */
export type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export interface IdleTrimOptions {
  /** Idle time before a trim, ms (default 6000: V8 judges its allocation rate over the last 5 s). */
  afterMs?: number;
  /** Event-loop utilisation under which a sample counts as idle, 0..1 (default 0.05). */
  maxUtilization?: number;
  /** Young generation committed bytes above which a trim is worth a GC (default 4 MiB, twice its empty size). */
  minYoungBytes?: number;
  /** Read per sample, so a feature flag can switch the trimmer off at run time (default on). */
  enabled?: () => boolean;
  /** The young generation's committed bytes now (default: V8's new and new-large-object spaces). */
  youngBytes?: () => number;
}

export interface TrimResult {
  beforeBytes: number;
  afterBytes: number;
}

/** Committed bytes of V8's young generation (both semi-spaces and the new large-object space). */
export function youngGenerationBytes(): number {
  let bytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (space.space_name.startsWith('new_')) bytes += space.space_size;
  return bytes;
}

export class IdleTrimmer {
  readonly afterMs: number;
  readonly maxUtilization: number;
  readonly minYoungBytes: number;
  private readonly enabled: () => boolean;
  private readonly youngBytes: () => number;
  /** When the current idle stretch began (sample time), or null while busy. */
  private idleSince: number | null = null;

  constructor(
    private readonly gc: GcFunction,
    opts: IdleTrimOptions = {},
  ) {
    this.afterMs = opts.afterMs ?? 6000;
    this.maxUtilization = opts.maxUtilization ?? 0.05;
    this.minYoungBytes = opts.minYoungBytes ?? 4 * 1048576;
    if (!Number.isInteger(this.afterMs) || this.afterMs < 1000 || this.afterMs > 3_600_000) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.idleTrim.afterMs: must be an integer in [1000, 3600000], got ${this.afterMs}`, { key: 'idleTrim.afterMs' });
    }
    if (!(this.maxUtilization > 0 && this.maxUtilization <= 1)) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.idleTrim.maxUtilization: must be in (0, 1], got ${this.maxUtilization}`, { key: 'idleTrim.maxUtilization' });
    }
    this.enabled = opts.enabled ?? (() => true);
    this.youngBytes = opts.youngBytes ?? youngGenerationBytes;
  }

  /**
   * Called with each sample. Runs a scavenge when the process has been idle for `afterMs` and the
   * young generation is larger than `minYoungBytes`; returns the sizes around it, else null. After a
   * trim (shrunk or not: V8 decides) the idle clock restarts, so an idle process pays at most one
   * scavenge per `afterMs`.
   */
  observe(sample: Pick<MemorySample, 'at' | 'eventLoop'>): TrimResult | null {
    if (!this.enabled() || sample.eventLoop.utilization > this.maxUtilization) {
      this.idleSince = null;
      return null;
    }
    // A sample reports the interval before it: the idle stretch began one interval earlier at most,
    // counted from this sample to stay on the safe side.
    this.idleSince ??= sample.at;
    if (sample.at - this.idleSince < this.afterMs) return null;
    const beforeBytes = this.youngBytes();
    if (beforeBytes <= this.minYoungBytes) return null;
    this.gc({ type: 'minor' });
    this.idleSince = sample.at;
    return { beforeBytes, afterBytes: this.youngBytes() };
  }
}
