/**
 * The load-shedding switch the server consults on every request. The memory monitor sets the mode;
 * the HTTP layer (src/runtime/server/shedding.ts) asks `admits(priority)`. When nothing is being shed
 * the check is one property read.
 *
 *   const shedder = new LoadShedder({ retryAfterSeconds: 5 });
 *   if (!shedder.admits('low')) reply.code(503).header('retry-after', shedder.retryAfterSeconds)...
 */
import { MemoryError } from './errors.js';

/** `off`: admit everything; `low`: refuse low-priority work; `all`: refuse all but exempt routes. */
export type ShedMode = 'off' | 'low' | 'all';

/** `exempt` routes (/health, /metrics) are never shed. */
export type RequestPriority = 'low' | 'normal' | 'exempt';

export interface LoadShedderOptions {
  /** The Retry-After the server sends with each 503, seconds (default 5). */
  retryAfterSeconds?: number;
}

export class LoadShedder {
  mode: ShedMode = 'off';
  readonly retryAfterSeconds: number;
  /** Requests refused since start, by priority. */
  readonly shed = { low: 0, normal: 0 };
  /** Epoch ms of the last mode change. */
  changedAt = 0;
  /** Called on every refusal (the metrics exporter counts them). */
  onShed: ((priority: 'low' | 'normal') => void) | null = null;

  constructor(opts: LoadShedderOptions = {}) {
    const r = opts.retryAfterSeconds ?? 5;
    if (!Number.isInteger(r) || r < 1 || r > 3600) {
      throw new MemoryError('MEMORY_CONFIG_INVALID', `memory.retryAfterSeconds: must be an integer in [1, 3600], got ${r}`, { key: 'retryAfterSeconds' });
    }
    this.retryAfterSeconds = r;
  }

  setMode(mode: ShedMode, at = Date.now()): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.changedAt = at;
  }

  /** True when a request of this priority may run now. */
  admits(priority: RequestPriority): boolean {
    const mode = this.mode;
    if (mode === 'off' || priority === 'exempt') return true;
    return mode === 'low' ? priority !== 'low' : false;
  }

  /** Counts one refusal; the caller answers 503. */
  recordShed(priority: 'low' | 'normal'): void {
    this.shed[priority]++;
    this.onShed?.(priority);
  }
}
