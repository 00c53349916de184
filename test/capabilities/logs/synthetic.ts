// Deterministic synthetic logs for the analyzer's tests and for bench/logs.ts. The generator knows the
// truth (level per line, timestamps, template per message), so tests compare the analyzer with it and
// with `grep -c`. Messages never contain an upper-case level word, so `grep -c ERROR` counts exactly
// the ERROR lines of the grep-able formats.
import { openSync, writeSync, closeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

export type SynthLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
/**
 * Line formats. `iso`, `isoSpace`, `json`, `syslog` carry the level as an upper-case word (grep-able);
 * `pino` (numeric level, epoch-ms time), `syslogPri` (<PRI> severity) and `access` (status class)
 * do not.
 */
export type SynthFormat = 'iso' | 'isoSpace' | 'json' | 'syslog' | 'syslogPri' | 'pino' | 'access';

export interface SynthOptions {
  seed?: number;
  /** Epoch ms of the first line. */
  start?: number;
  /** Mean gap between lines, in ms (uniform in [0, 2 × mean]). */
  stepMs?: number;
  formats?: Partial<Record<SynthFormat, number>>;
  levels?: Partial<Record<SynthLevel, number>>;
}

export interface SynthTruth {
  lines: number;
  bytes: number;
  levels: Record<SynthLevel, number>;
  /** Lines per format. */
  formats: Record<SynthFormat, number>;
  firstMs: number;
  lastMs: number;
  /** hour start (epoch ms) → lines. */
  hourly: Map<number, number>;
  /** minute start (epoch ms) → error + fatal lines. */
  errorMinutes: Map<number, number>;
  /** normalised template text → count, for every line. */
  templates: Map<string, number>;
}

const LEVEL_WORD: Record<SynthLevel, string> = { fatal: 'FATAL', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE' };
const PINO_LEVEL: Record<SynthLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const SYSLOG_SEVERITY: Record<SynthLevel, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Message templates: `#` is a number, `%` a hex id, `@` a UUID. Their normalised form masks them as `#`. */
const TEMPLATES = [
  'request # completed in # ms',
  'payment # failed for user #: timeout after # ms',
  'cache miss for key user:# (shard #)',
  'connection to 10.0.#.# closed by peer',
  'job @ scheduled on worker-#',
  'retrying upstream call, attempt # of #',
  'session % expired',
  'disk usage at # percent on /dev/sda#',
  'slow query took # ms: select from orders where id = #',
  'user # logged in from 192.168.#.#',
  'token % rejected: signature mismatch',
  'queue depth # exceeds soft limit #',
  'worker pool resized to # threads',
  'heartbeat from node % lost after # ms',
  'config reloaded (version #)',
  'upstream returned status # for /api/v#/items/#',
];

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** xorshift32, uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  hex(len: number): string {
    let s = '';
    // at least one digit, so the normaliser masks it as a number-bearing word
    for (let i = 0; i < len; i++) s += i === 0 ? String(this.int(10)) : '0123456789abcdef'[this.int(16)];
    return s;
  }
}

function pick<K extends string>(rng: Rng, weights: Record<K, number>, keys: K[], total: number): K {
  let r = rng.next() * total;
  for (const k of keys) {
    r -= weights[k];
    if (r < 0) return k;
  }
  return keys[keys.length - 1]!;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
const pad3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Streams synthetic lines; call `next()` until the budget is spent. */
export class SyntheticLog {
  readonly truth: SynthTruth;
  private readonly rng: Rng;
  private t: number;
  private readonly step: number;
  private readonly fmtW: Record<SynthFormat, number>;
  private readonly fmtKeys: SynthFormat[];
  private readonly fmtTotal: number;
  private readonly lvlW: Record<SynthLevel, number>;
  private readonly lvlKeys: SynthLevel[];
  private readonly lvlTotal: number;

  constructor(opts: SynthOptions = {}) {
    this.rng = new Rng(opts.seed ?? 42);
    this.t = opts.start ?? Date.UTC(2024, 2, 5, 0, 0, 0);
    this.step = opts.stepMs ?? 500;
    this.fmtW = { iso: 0, isoSpace: 0, json: 0, syslog: 0, syslogPri: 0, pino: 0, access: 0, ...(opts.formats ?? { iso: 1 }) };
    this.fmtKeys = (Object.keys(this.fmtW) as SynthFormat[]).filter((k) => this.fmtW[k] > 0);
    this.fmtTotal = this.fmtKeys.reduce((s, k) => s + this.fmtW[k], 0);
    this.lvlW = { fatal: 0, error: 0, warn: 0, info: 0, debug: 0, trace: 0, ...(opts.levels ?? { fatal: 0.2, error: 4, warn: 7, info: 78, debug: 9, trace: 1.8 }) };
    this.lvlKeys = (Object.keys(this.lvlW) as SynthLevel[]).filter((k) => this.lvlW[k] > 0);
    this.lvlTotal = this.lvlKeys.reduce((s, k) => s + this.lvlW[k], 0);
    this.truth = {
      lines: 0,
      bytes: 0,
      levels: { fatal: 0, error: 0, warn: 0, info: 0, debug: 0, trace: 0 },
      formats: { iso: 0, isoSpace: 0, json: 0, syslog: 0, syslogPri: 0, pino: 0, access: 0 },
      firstMs: Number.NaN,
      lastMs: Number.NaN,
      hourly: new Map(),
      errorMinutes: new Map(),
      templates: new Map(),
    };
  }

  private message(): { text: string; key: string } {
    const tpl = TEMPLATES[this.rng.int(TEMPLATES.length)]!;
    let text = '';
    for (let i = 0; i < tpl.length; i++) {
      const c = tpl[i]!;
      if (c === '#') text += String(this.rng.int(100000));
      else if (c === '%') text += this.rng.hex(16);
      else if (c === '@') text += `${this.rng.hex(8)}-${this.rng.hex(4)}-${this.rng.hex(4)}-${this.rng.hex(4)}-${this.rng.hex(12)}`;
      else text += c;
    }
    return { text, key: tpl };
  }

  /** One line with its trailing newline. */
  next(): string {
    const rng = this.rng;
    this.t += rng.int(2 * this.step + 1);
    const ms = this.t;
    const fmt = pick(rng, this.fmtW, this.fmtKeys, this.fmtTotal);
    let level = pick(rng, this.lvlW, this.lvlKeys, this.lvlTotal);
    let line: string;
    let key: string;
    if (fmt === 'access') {
      // the status class sets the level: 5xx error, 4xx warn, else info
      const status = level === 'error' || level === 'fatal' ? 500 + rng.int(5) : level === 'warn' ? 400 + rng.int(30) : 200 + rng.int(5);
      level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      const d = new Date(ms);
      const path = `/api/users/${rng.int(100000)}`;
      line = `10.0.${rng.int(256)}.${rng.int(256)} - - [${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000] "GET ${path} HTTP/1.1" ${status} ${rng.int(50000)} "-" "curl/8.5.0"`;
      key = `${status} GET /api/users/#`;
    } else {
      const m = this.message();
      key = m.key;
      const word = LEVEL_WORD[level];
      const d = new Date(ms);
      switch (fmt) {
        case 'iso':
          line = `${isoOf(ms)} ${word} [worker-${rng.int(8)}] ${m.text}`;
          break;
        case 'isoSpace':
          line = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())},${pad3(d.getUTCMilliseconds())} ${word.padEnd(5)} [main] c.e.Service - ${m.text}`;
          break;
        case 'json':
          line = `{"time":"${isoOf(ms)}","level":"${word}","service":"api","msg":"${m.text}","pid":${rng.int(60000)}}`;
          break;
        case 'pino':
          line = `{"level":${PINO_LEVEL[level]},"time":${ms},"pid":${rng.int(60000)},"hostname":"web-1","msg":"${m.text}"}`;
          break;
        case 'syslog':
          line = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} web-01 app[${rng.int(30000)}]: ${word} ${m.text}`;
          break;
        case 'syslogPri':
          line = `<${8 + SYSLOG_SEVERITY[level]}>${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} web-01 app[${rng.int(30000)}]: ${m.text}`;
          // syslog severities 7 cover both debug and trace
          if (level === 'trace') level = 'debug';
          break;
      }
    }
    // second precision formats lose the milliseconds
    const recorded = fmt === 'iso' || fmt === 'json' || fmt === 'pino' || fmt === 'isoSpace' ? ms : ms - (ms % 1000);
    const t = this.truth;
    t.lines++;
    t.levels[level]++;
    t.formats[fmt]++;
    if (Number.isNaN(t.firstMs) || recorded < t.firstMs) t.firstMs = recorded;
    if (Number.isNaN(t.lastMs) || recorded > t.lastMs) t.lastMs = recorded;
    const hour = recorded - (recorded % 3600000);
    t.hourly.set(hour, (t.hourly.get(hour) ?? 0) + 1);
    if (level === 'error' || level === 'fatal') {
      const minute = recorded - (recorded % 60000);
      t.errorMinutes.set(minute, (t.errorMinutes.get(minute) ?? 0) + 1);
    }
    t.templates.set(key, (t.templates.get(key) ?? 0) + 1);
    line += '\n';
    t.bytes += Buffer.byteLength(line);
    return line;
  }
}

/** Writes `lines` synthetic lines (or until `bytes` is reached) to `path`; gzip when asked. */
export function writeSyntheticLog(path: string, size: { lines?: number; bytes?: number }, opts: SynthOptions & { gzip?: boolean } = {}): SynthTruth {
  const gen = new SyntheticLog(opts);
  const maxLines = size.lines ?? Number.POSITIVE_INFINITY;
  const maxBytes = size.bytes ?? Number.POSITIVE_INFINITY;
  const parts: string[] = [];
  const whole: Buffer[] = [];
  const fd = opts.gzip ? -1 : openSync(path, 'w');
  let pending = 0;
  const flush = (): void => {
    const buf = Buffer.from(parts.join(''), 'utf8');
    parts.length = 0;
    pending = 0;
    if (fd >= 0) writeSync(fd, buf);
    else whole.push(buf);
  };
  try {
    while (gen.truth.lines < maxLines && gen.truth.bytes < maxBytes) {
      const line = gen.next();
      parts.push(line);
      pending += line.length;
      if (pending >= 1 << 22) flush();
    }
    flush();
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  if (opts.gzip) {
    const out = openSync(path, 'w');
    try {
      writeSync(out, gzipSync(Buffer.concat(whole)));
    } finally {
      closeSync(out);
    }
  }
  return gen.truth;
}
