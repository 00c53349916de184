/**
 * The prober as the engine holds it: rebuilt when its settings change (the allowlist is live), with
 * every scan recorded in the history. The TTL cache lives in the Prober, so a settings change starts
 * with an empty cache.
 */
import { randomUUID } from 'node:crypto';
import { Prober, type HttpCheckResult, type ProbeReport, type ProbeRequest, type ProberOptions, type ScanOptions } from './prober.js';

/** A recorded scan: the report plus its id, time and request. */
export interface ProbeRecord extends ProbeReport {
  id: string;
  createdAt: number;
  request: { targets: readonly string[]; ports: string | readonly number[] | undefined };
}

export interface ProbeHistory {
  save(record: ProbeRecord): Promise<void>;
}

export interface ProbeService {
  scan(req: ProbeRequest, opts?: ScanOptions & { record?: boolean }): Promise<ProbeRecord>;
  httpCheck(address: string, port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpCheckResult>;
  /** The prober of the current settings. */
  current(): Prober;
  stats(): ReturnType<Prober['stats']>;
}

export function createProbeService(deps: {
  /** Read at each use; a different object than last time (a config change) builds a new Prober. */
  options: () => ProberOptions;
  history?: ProbeHistory;
  onHistoryError?: (err: unknown) => void;
  now?: () => number;
}): ProbeService {
  let opts: ProberOptions | undefined;
  let prober: Prober | undefined;
  const current = (): Prober => {
    const next = deps.options();
    if (next !== opts || !prober) {
      prober = new Prober(next);
      opts = next;
    }
    return prober;
  };
  return {
    current,
    async scan(req, o = {}) {
      const createdAt = (deps.now ?? Date.now)();
      const report = await current().scan(req, o);
      const record: ProbeRecord = { id: randomUUID(), createdAt, request: { targets: req.targets, ports: req.ports }, ...report };
      if (deps.history && o.record !== false) {
        try {
          await deps.history.save(record);
        } catch (err) {
          deps.onHistoryError?.(err);
        }
      }
      return record;
    },
    httpCheck: (address, port, path, timeoutMs, signal) => current().httpCheck(address, port, path, timeoutMs, signal),
    stats: () => current().stats(),
  };
}
