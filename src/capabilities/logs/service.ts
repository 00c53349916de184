// The analyzer as the engine holds it: bound to the engine's kernels (WASM or JS per the
// `kernels.wasm` flag), its working directory and the live `logs` settings.
import { resolve } from 'node:path';
import type { LineScannerFactory } from '../../platform/kernels/types.js';
import { analyzeLogs } from './analyze.js';
import type { AnalyzeOptions, LogReport } from './types.js';

/** The `logs` config section, as the service reads it. */
export interface LogsSettings {
  /** Directories the confined entry point (the HTTP API) may read; relative ones against `cwd`. */
  roots: readonly string[];
  top: number;
  chunkBytes: number;
  maxFiles: number;
  maxHours: number;
  maxErrorMinutes: number;
}

/** What a caller may set per call; the rest comes from the settings. */
export type AnalyzeRequest = Pick<AnalyzeOptions, 'mode' | 'top' | 'year' | 'signal' | 'stdin' | 'cwd'>;

export interface LogsService {
  /** Any path the caller names (the CLI, a local check); relative paths against `cwd`. */
  analyze(paths: readonly string[], req?: AnalyzeRequest): Promise<LogReport>;
  /**
   * Only files inside the configured roots (symlinks followed); relative paths against the first
   * root; no stdin. For input from the network: POST /v1/logs/analyze, a check submitted over HTTP.
   */
  analyzeConfined(paths: readonly string[], req?: Omit<AnalyzeRequest, 'stdin' | 'cwd'>): Promise<LogReport>;
}

export function createLogsService(deps: { kernels?: LineScannerFactory; settings: () => LogsSettings; cwd: string }): LogsService {
  const base = (req: AnalyzeRequest): AnalyzeOptions => {
    const s = deps.settings();
    return {
      top: s.top,
      chunkBytes: s.chunkBytes,
      maxFiles: s.maxFiles,
      maxHours: s.maxHours,
      maxErrorMinutes: s.maxErrorMinutes,
      ...(deps.kernels ? { kernels: deps.kernels } : {}),
      ...req,
      cwd: req.cwd ?? deps.cwd,
    };
  };
  return {
    analyze: (paths, req = {}) => analyzeLogs(paths, base(req)),
    analyzeConfined: (paths, req = {}) => {
      const roots = deps.settings().roots.map((r) => resolve(deps.cwd, r));
      return analyzeLogs(paths, { ...base(req), roots, cwd: deps.cwd });
    },
  };
}
