import type { LineScannerFactory } from '../../platform/kernels/types.js';

/** Severity buckets, most severe first. `unknown`: no level recognised (blank lines included). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Line formats recognised. `iso`: a line starting with an RFC 3339 / ISO 8601 timestamp (log4j,
 * python logging, most app logs); `syslog`: RFC 3164 or 5424, with or without <PRI>; `json`: one JSON
 * object per line (pino, bunyan, zap, ECS); `access`: nginx/apache common or combined; `logfmt`:
 * key=value pairs; `plain`: no timestamp but a level word up front; `none`: nothing recognised.
 */
export const LOG_FORMATS = ['iso', 'syslog', 'json', 'access', 'logfmt', 'plain', 'none'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface AnalyzeOptions {
  /** `full` (default): everything; `levels`: level counts only, the fast path. */
  mode?: 'full' | 'levels';
  /** How many top messages to report (default 10, at most 1,000). */
  top?: number;
  /** Where line scanners come from (the engine passes its kernels, WASM or JS per the flag). Default: JS. */
  kernels?: LineScannerFactory;
  /** Read size, and the longest line kept whole (longer ones are cut and counted). Default 1 MiB. */
  chunkBytes?: number;
  /** Most files one call may read (after glob expansion). Default 1,000. */
  maxFiles?: number;
  /** When set, every file must resolve (symlinks followed) inside one of these directories. */
  roots?: readonly string[];
  /** Relative paths and globs resolve against this. Default process.cwd(). */
  cwd?: string;
  /** Year for syslog (RFC 3164) lines, which carry none. Default: the current UTC year. */
  year?: number;
  /** Hour buckets kept (default 9,600, ~400 days); lines in further hours are counted as dropped. */
  maxHours?: number;
  /** Minutes with errors kept for the error-rate series (default 10,080, a week). */
  maxErrorMinutes?: number;
  /** The stream read for the path `-` (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

export interface FileReport {
  path: string;
  bytes: number;
  lines: number;
  gzip: boolean;
}

export interface HourBucket {
  /** Start of the hour, ISO 8601 UTC. */
  hour: string;
  lines: number;
  /** error + fatal lines. */
  errors: number;
  warnings: number;
}

export interface TopMessage {
  /** The message with numbers, ids and hex masked as `#`. */
  message: string;
  count: number;
  /** The true count lies in [count, count + maxError] (the sketch is bounded). */
  maxError: number;
  /** The most severe level seen with it. */
  level: LogLevel;
}

export interface ErrorRate {
  /** error + fatal lines with a timestamp. */
  errors: number;
  /** Minutes from the first to the last timestamp (at least 1 when any timestamp was seen). */
  minutes: number;
  /** errors ÷ minutes. */
  perMinute: number;
  peak: { minute: string; errors: number } | null;
  /** Every minute with at least one error, in time order. */
  series: Array<{ minute: string; errors: number }>;
  /** Minutes with errors not kept because the series was full. */
  minutesDropped: number;
}

export interface LogReport {
  mode: 'full' | 'levels';
  files: FileReport[];
  bytes: number;
  lines: number;
  blank: number;
  /** Non-blank lines with neither a timestamp nor a level, and JSON lines that are not closed. */
  malformed: number;
  /** Lines longer than chunkBytes: analysed on their first chunkBytes, counted here. */
  truncated: number;
  levels: Record<LogLevel, number>;
  formats: Record<LogFormat, number>;
  /** Earliest and latest timestamps seen (ISO 8601 UTC), null when none (or in `levels` mode). */
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  /** Non-blank lines without a timestamp. */
  untimed: number;
  hourly: HourBucket[];
  hoursDropped: number;
  errorRate: ErrorRate;
  /** Most frequent normalised messages over all lines. */
  top: TopMessage[];
  /** Most frequent normalised messages among warn, error and fatal lines. */
  topProblems: TopMessage[];
  /** The line splitter that served: 'wasm' or 'js'. */
  kernel: 'wasm' | 'js';
  durationMs: number;
}
