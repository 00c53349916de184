// The analyzer's hot loop. Lines arrive as byte ranges of a chunk buffer (never decoded to strings);
// each is classified by its first byte into a format, whose parser reads the timestamp digits and
// the level word in place. In `full` mode the line then lands in its hour bucket, its error minute,
// and — hashed in its normalised form — in two bounded heavy-hitter sketches. Only a message seen
// for the first time is decoded, once, as a display sample.
import { MAX_MESSAGE_BYTES, normalizeMessage } from './normalize.js';
import { HeavyHitters } from './topk.js';
import { LOG_FORMATS, LOG_LEVELS } from './types.js';
import type { ErrorRate, HourBucket, LogFormat, LogLevel, TopMessage } from './types.js';

// level indexes (LOG_LEVELS order)
const FATAL = 0;
const ERROR = 1;
const WARN = 2;
const INFO = 3;
const DEBUG = 4;
const TRACE = 5;
const UNKNOWN = 6;
// format indexes (LOG_FORMATS order)
const F_ISO = 0;
const F_SYSLOG = 1;
const F_JSON = 2;
const F_ACCESS = 3;
const F_LOGFMT = 4;
const F_PLAIN = 5;
const F_NONE = 6;

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Separators around a level word: space, tab, [ ] ( ) | : - , < > = " ' */
const SEP = new Uint8Array(256);
for (const ch of ' \t[]()|:-,<>="\'') SEP[ch.charCodeAt(0)] = 1;
/** Bytes skipped between a level word and its message. */
const LEAD = new Uint8Array(256);
for (const ch of ' \t:]|->') LEAD[ch.charCodeAt(0)] = 1;

const isAlpha = (c: number): boolean => ((c | 32) >= 97 && (c | 32) <= 122);

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** 1..12 for a three-letter English month abbreviation in any case, else 0. */
function monthOf(a: number, b: number, c: number): number {
  switch (((a & 0xdf) << 16) | ((b & 0xdf) << 8) | (c & 0xdf)) {
    case 0x4a414e: return 1; // JAN
    case 0x464542: return 2; // FEB
    case 0x4d4152: return 3; // MAR
    case 0x415052: return 4; // APR
    case 0x4d4159: return 5; // MAY
    case 0x4a554e: return 6; // JUN
    case 0x4a554c: return 7; // JUL
    case 0x415547: return 8; // AUG
    case 0x534550: return 9; // SEP
    case 0x4f4354: return 10; // OCT
    case 0x4e4f56: return 11; // NOV
    case 0x444543: return 12; // DEC
    default: return 0;
  }
}

const p4 = (s: string): number => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const W_ERRO = p4('ERRO');
const W_WARN = p4('WARN');
const W_INFO = p4('INFO');
const W_DEBU = p4('DEBU');
const W_TRAC = p4('TRAC');
const W_FATA = p4('FATA');
const W_CRIT = p4('CRIT');
const W_PANI = p4('PANI');
const W_ALER = p4('ALER');
const W_EMER = p4('EMER');
const W_SEVE = p4('SEVE');
const W_NOTI = p4('NOTI');
const W_VERB = p4('VERB');

/** Does b[s, s+n) equal the ASCII `word` (compared upper-cased when ci)? */
function tailIs(b: Uint8Array, s: number, word: string, ci: boolean): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = b[s + i]!;
    if ((ci ? c & 0xdf : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The level of the letters-only word b[s, s+len), or -1. `ci`: any case (`error`, `Warn`), else
 * upper case only. Knows the usual spellings: ERROR ERR ERRO SEVERE, WARN WARNING WRN, INFO INF
 * NOTICE, DEBUG DBG DEBU, TRACE TRC VERBOSE, FATAL FTL FATA CRIT CRITICAL PANIC ALERT EMERG EMERGENCY.
 */
export function levelWord(b: Uint8Array, s: number, len: number, ci: boolean): number {
  if (len < 3 || len > 9) return -1;
  const m = ci ? 0xdf : 0xff;
  if (len === 3) {
    const w = ((b[s]! & m) << 16) | ((b[s + 1]! & m) << 8) | (b[s + 2]! & m);
    switch (w) {
      case 0x455252: return ERROR; // ERR
      case 0x57524e: return WARN; // WRN
      case 0x494e46: return INFO; // INF
      case 0x444247: return DEBUG; // DBG
      case 0x545243: return TRACE; // TRC
      case 0x46544c: return FATAL; // FTL
      case 0x435254: return FATAL; // CRT
      default: return -1;
    }
  }
  const w = (((b[s]! & m) << 24) | ((b[s + 1]! & m) << 16) | ((b[s + 2]! & m) << 8) | (b[s + 3]! & m)) >>> 0;
  const t = s + 4;
  switch (len) {
    case 4:
      return w === W_WARN ? WARN : w === W_INFO ? INFO : w === W_ERRO ? ERROR : w === W_DEBU ? DEBUG : w === W_CRIT || w === W_FATA ? FATAL : -1;
    case 5: {
      const c = b[t]! & m;
      if (w === W_ERRO) return c === 82 ? ERROR : -1; // R
      if (w === W_DEBU) return c === 71 ? DEBUG : -1; // G
      if (w === W_TRAC) return c === 69 ? TRACE : -1; // E
      if (w === W_FATA) return c === 76 ? FATAL : -1; // L
      if (w === W_PANI) return c === 67 ? FATAL : -1; // C
      if (w === W_ALER) return c === 84 ? FATAL : -1; // T
      if (w === W_EMER) return c === 71 ? FATAL : -1; // G
      return -1;
    }
    case 6:
      if (w === W_SEVE) return tailIs(b, t, 'RE', ci) ? ERROR : -1;
      if (w === W_NOTI) return tailIs(b, t, 'CE', ci) ? INFO : -1;
      return -1;
    case 7:
      if (w === W_WARN) return tailIs(b, t, 'ING', ci) ? WARN : -1;
      if (w === W_VERB) return tailIs(b, t, 'OSE', ci) ? TRACE : -1;
      return -1;
    case 8:
      return w === W_CRIT && tailIs(b, t, 'ICAL', ci) ? FATAL : -1;
    default:
      return w === W_EMER && tailIs(b, t, 'GENCY', ci) ? FATAL : -1;
  }
}

/** Level of a numeric level (pino / bunyan: 10 trace … 60 fatal). */
const numericLevel = (n: number): number => (n >= 60 ? FATAL : n >= 50 ? ERROR : n >= 40 ? WARN : n >= 30 ? INFO : n >= 20 ? DEBUG : TRACE);
/** Level of a syslog severity 0..7. */
const SYSLOG_LEVEL = [FATAL, FATAL, FATAL, ERROR, WARN, INFO, INFO, DEBUG];

export interface AccumulatorOptions {
  mode: 'full' | 'levels';
  top: number;
  year: number;
  maxHours: number;
  maxErrorMinutes: number;
  /** Masked hash of buffer[start, end) of the buffer the lines live in (the line scanner's `hash`). */
  hash: (start: number, end: number, seed: number) => number;
}

interface Bucket {
  lines: number;
  errors: number;
  warnings: number;
}

/** Counts lines into a report. Feed it chunks with `lines(...)`, then read `levels`, `report...`. */
export class LogAccumulator {
  readonly levelCounts = new Float64Array(LOG_LEVELS.length);
  readonly formatCounts = new Float64Array(LOG_FORMATS.length);
  lineCount = 0;
  blank = 0;
  malformed = 0;
  truncated = 0;
  untimed = 0;

  private readonly full: boolean;
  private readonly year: number;
  // per-line parse results
  private lvl = UNKNOWN;
  private hasTs = false;
  private ts = 0;
  private msgS = -1;
  private msgE = -1;
  private seed = 0;
  private prefix = '';
  // timestamp cache: the day of the previous timestamp
  private lastYmd = -1;
  /** Next '[' and '"' at or after the position they were searched from (per chunk; -1: unknown). */
  private nextBracket = -1;
  private nextQuote = -1;
  private lastDayMs = 0;
  // time aggregates
  private minTs = Number.POSITIVE_INFINITY;
  private maxTs = Number.NEGATIVE_INFINITY;
  private readonly hours = new Map<number, Bucket>();
  private curHour = Number.NaN;
  private curBucket: Bucket | undefined;
  hoursDropped = 0;
  private readonly maxHours: number;
  private readonly errorMinutes = new Map<number, number>();
  private readonly maxErrorMinutes: number;
  private timedErrors = 0;
  minutesDropped = 0;
  private readonly topAll: HeavyHitters;
  private readonly topProblems: HeavyHitters;
  private readonly topN: number;
  private readonly hash: (start: number, end: number, seed: number) => number;

  constructor(opts: AccumulatorOptions) {
    this.hash = opts.hash;
    this.full = opts.mode === 'full';
    this.year = opts.year;
    this.maxHours = opts.maxHours;
    this.maxErrorMinutes = opts.maxErrorMinutes;
    this.topN = opts.top;
    const cap = Math.max(256, opts.top * 16);
    this.topAll = new HeavyHitters(cap);
    this.topProblems = new HeavyHitters(cap);
  }

  /** Analyses the lines ending at ends[k0..k1) of `b`, the first starting at `s`; returns the next start. */
  lines(b: Buffer, ends: Int32Array, k0: number, k1: number, s: number): number {
    // the buffer's content changed: forget the memoised byte positions
    this.nextBracket = -1;
    this.nextQuote = -1;
    for (let k = k0; k < k1; k++) {
      const e = ends[k]!;
      this.line(b, s, e);
      s = e + 1;
    }
    return s;
  }

  /**
   * Adds what a WASM level pass counted (LineScanner.levels): [0..6] levels, [7..13] formats,
   * [14] blank, [15] malformed, [16] lines.
   */
  addLevelCounts(counts: Int32Array): void {
    for (let i = 0; i < 7; i++) {
      this.levelCounts[i]! += counts[i]!;
      this.formatCounts[i]! += counts[7 + i]!;
    }
    this.blank += counts[14]!;
    this.malformed += counts[15]!;
    this.lineCount += counts[16]!;
  }

  /** One line on its own (the buffer may have changed since the last call). */
  single(b: Buffer, s: number, e: number): void {
    this.nextBracket = -1;
    this.nextQuote = -1;
    this.line(b, s, e);
  }

  /** One line, b[s, e) without its '\n', of the chunk `lines` is walking. */
  private line(b: Buffer, s: number, e: number): void {
    this.lineCount++;
    if (e > s && b[e - 1] === 13) e--;
    if (e <= s) {
      this.blank++;
      this.levelCounts[UNKNOWN]!++;
      return;
    }
    this.lvl = UNKNOWN;
    this.hasTs = false;
    this.msgS = -1;
    this.msgE = e;
    this.seed = 0;
    this.prefix = '';
    const c = b[s]!;
    let f: number;
    if (c >= 48 && c <= 57) {
      // 2024-03-05T... or an access log's client address
      f = e - s >= 19 && b[s + 4] === 45 && b[s + 7] === 45 ? this.iso(b, s, e) : this.access(b, s, e);
    } else if (c === 123) f = this.json(b, s, e);
    else if (c === 60) f = this.syslogPri(b, s, e);
    else if (c === 91 && e - s > 20 && b[s + 5] === 45 && b[s + 8] === 45 && b[s + 1]! >= 48 && b[s + 1]! <= 57) f = this.iso(b, s + 1, e);
    else if (c >= 65 && c <= 90 && e - s >= 16 && b[s + 3] === 32 && monthOf(c, b[s + 1]!, b[s + 2]!) !== 0) f = this.syslog3164(b, s, s, e);
    else if (c >= 97 && c <= 122) f = this.logfmt(b, s, e);
    else f = this.access(b, s, e);
    this.levelCounts[this.lvl]!++;
    this.formatCounts[f]!++;
    if (f === F_NONE) this.malformed++;
    if (!this.full) return;
    if (this.hasTs) this.time();
    else this.untimed++;
    const ms = this.msgS;
    if (ms >= 0 && this.msgE > ms) {
      const key = this.hash(ms, Math.min(this.msgE, ms + MAX_MESSAGE_BYTES), this.seed);
      this.topAll.add(key, this.lvl, b, this.msgS, this.msgE, this.prefix);
      if (this.lvl <= WARN) this.topProblems.add(key, this.lvl, b, this.msgS, this.msgE, this.prefix);
    }
  }

  private time(): void {
    const ts = this.ts;
    if (ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
    const hour = Math.floor(ts / HOUR);
    if (hour !== this.curHour) {
      this.curHour = hour;
      let bucket = this.hours.get(hour);
      if (bucket === undefined && this.hours.size < this.maxHours) {
        bucket = { lines: 0, errors: 0, warnings: 0 };
        this.hours.set(hour, bucket);
      }
      this.curBucket = bucket;
    }
    const bucket = this.curBucket;
    const lvl = this.lvl;
    if (bucket === undefined) this.hoursDropped++;
    else {
      bucket.lines++;
      if (lvl <= ERROR) bucket.errors++;
      else if (lvl === WARN) bucket.warnings++;
    }
    if (lvl <= ERROR) {
      this.timedErrors++;
      const minute = Math.floor(ts / MINUTE);
      const n = this.errorMinutes.get(minute);
      if (n !== undefined) this.errorMinutes.set(minute, n + 1);
      else if (this.errorMinutes.size < this.maxErrorMinutes) this.errorMinutes.set(minute, 1);
      else this.minutesDropped++;
    }
  }

  /** Epoch ms of a civil date-time (UTC), caching the day. Returns NaN when out of range. */
  private epoch(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number): number {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return Number.NaN;
    const ymd = y * 416 + mo * 32 + d;
    if (ymd !== this.lastYmd) {
      this.lastYmd = ymd;
      this.lastDayMs = daysFromCivil(y, mo, d) * DAY;
    }
    return this.lastDayMs + h * HOUR + mi * MINUTE + sec * 1000 + ms;
  }

  /**
   * Parses `YYYY-MM-DD[T ]HH:MM:SS[.,fraction][Z|±HH[:]MM]` at p (the caller checked the two dashes);
   * on success sets hasTs/ts and returns the index after it, else -1.
   */
  private isoTime(b: Buffer, p: number, e: number): number {
    if (p + 19 > e) return -1;
    // digits read in place; (x >>> 0) > 9 rejects anything that is not '0'..'9'
    const y0 = b[p]! - 48, y1 = b[p + 1]! - 48, y2 = b[p + 2]! - 48, y3 = b[p + 3]! - 48;
    const m0 = b[p + 5]! - 48, m1 = b[p + 6]! - 48, d0 = b[p + 8]! - 48, d1 = b[p + 9]! - 48;
    const h0 = b[p + 11]! - 48, h1 = b[p + 12]! - 48, i0 = b[p + 14]! - 48, i1 = b[p + 15]! - 48;
    const s0 = b[p + 17]! - 48, s1 = b[p + 18]! - 48;
    const sepT = b[p + 10]! | 32;
    if (
      y0 >>> 0 > 9 || y1 >>> 0 > 9 || y2 >>> 0 > 9 || y3 >>> 0 > 9 || m0 >>> 0 > 9 || m1 >>> 0 > 9 || d0 >>> 0 > 9 || d1 >>> 0 > 9 ||
      h0 >>> 0 > 9 || h1 >>> 0 > 9 || i0 >>> 0 > 9 || i1 >>> 0 > 9 || s0 >>> 0 > 9 || s1 >>> 0 > 9 ||
      (sepT !== 116 && sepT !== 32) || b[p + 13] !== 58 || b[p + 16] !== 58
    ) {
      return -1;
    }
    let q = p + 19;
    let ms = 0;
    let c = q < e ? b[q]! : 0;
    if (c === 46 || c === 44) {
      // fraction: keep milliseconds, skip finer digits
      q++;
      let k = 0;
      while (q < e) {
        const dd = b[q]! - 48;
        if (dd >>> 0 > 9) break;
        if (k < 3) ms = ms * 10 + dd;
        k++;
        q++;
      }
      if (k === 1) ms *= 100;
      else if (k === 2) ms *= 10;
      c = q < e ? b[q]! : 0;
    }
    let offset = 0;
    if (c === 90 || c === 122) q++;
    else if ((c === 43 || c === 45) && q + 3 <= e) {
      const a0 = b[q + 1]! - 48, a1 = b[q + 2]! - 48;
      let r = q + 3;
      if (r < e && b[r] === 58) r++;
      if (r + 2 <= e && a0 >>> 0 <= 9 && a1 >>> 0 <= 9) {
        const b0 = b[r]! - 48, b1 = b[r + 1]! - 48;
        if (b0 >>> 0 <= 9 && b1 >>> 0 <= 9) {
          offset = (c === 43 ? 1 : -1) * ((a0 * 10 + a1) * 60 + b0 * 10 + b1) * MINUTE;
          q = r + 2;
        }
      }
    }
    const mo = m0 * 10 + m1;
    const d = d0 * 10 + d1;
    const h = h0 * 10 + h1;
    const mi = i0 * 10 + i1;
    const sec = s0 * 10 + s1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    if (!this.full) return q; // the levels pass needs only where the timestamp ends
    const t = this.epoch(y0 * 1000 + y1 * 100 + y2 * 10 + y3, mo, d, h, mi, sec, ms);
    this.ts = t - offset;
    this.hasTs = true;
    return q;
  }

  /**
   * Finds a level word among the first `tokens` tokens of b[p, e): the first token in any case,
   * later ones upper case only (so `... failed with error` is not taken for a level). Sets lvl and
   * the message start after it; returns true when found.
   */
  private levelScan(b: Buffer, p: number, e: number, tokens: number): boolean {
    for (let t = 0; t < tokens && p < e; t++) {
      while (p < e && SEP[b[p]!] === 1) p++;
      const s = p;
      while (p < e && isAlpha(b[p]!)) p++;
      if (p < e && SEP[b[p]!] !== 1) {
        // not a pure word (digits, dots...): skip it
        while (p < e && SEP[b[p]!] !== 1) p++;
        continue;
      }
      const lv = levelWord(b, s, p - s, t === 0);
      if (lv >= 0) {
        this.lvl = lv;
        while (p < e && LEAD[b[p]!] === 1) p++;
        this.msgS = p;
        return true;
      }
    }
    return false;
  }

  private iso(b: Buffer, p: number, e: number): number {
    let q = this.isoTime(b, p, e);
    if (q < 0) return this.access(b, p, e);
    if (q < e && b[p - 1] === 91 && b[q] === 93) q++; // [timestamp]
    if (!this.levelScan(b, q, e, 4)) {
      while (q < e && LEAD[b[q]!] === 1) q++;
      this.msgS = q;
    }
    return F_ISO;
  }

  /** `<PRI>` then RFC 5424 (`1 2024-...`) or RFC 3164 (`Mar  5 ...`). */
  private syslogPri(b: Buffer, s: number, e: number): number {
    let p = s + 1;
    let pri = 0;
    while (p < e && p < s + 4 && b[p]! >= 48 && b[p]! <= 57) pri = pri * 10 + b[p++]! - 48;
    if (p === s + 1 || p >= e || b[p] !== 62 || pri > 191) return this.plain(b, s, e);
    p++;
    const sev = pri & 7;
    if (p + 2 < e && b[p]! >= 49 && b[p]! <= 57 && b[p + 1] === 32) {
      // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
      let q = p + 2;
      if (b[q] === 45) q++; // NILVALUE timestamp
      else if (q + 10 < e && b[q + 4] === 45 && b[q + 7] === 45) q = this.isoTime(b, q, e);
      else q = -1;
      if (q < 0) return this.plain(b, s, e);
      for (let f = 0; f < 4 && q < e; f++) {
        while (q < e && b[q] === 32) q++;
        while (q < e && b[q] !== 32) q++;
      }
      while (q < e && b[q] === 32) q++;
      if (b[q] === 91) {
        // structured data: [id k="v" ...][...], values may escape ] with a backslash
        while (q < e && b[q] === 91) {
          q++;
          let quoted = false;
          while (q < e) {
            const c = b[q]!;
            if (c === 92) q++;
            else if (c === 34) quoted = !quoted;
            else if (c === 93 && !quoted) break;
            q++;
          }
          q++;
        }
      } else if (b[q] === 45) q++;
      while (q < e && b[q] === 32) q++;
      this.lvl = SYSLOG_LEVEL[sev]!;
      this.msgS = q;
      return F_SYSLOG;
    }
    if (e - p >= 16 && b[p + 3] === 32 && monthOf(b[p]!, b[p + 1]!, b[p + 2]!) !== 0) {
      const f = this.syslog3164(b, s, p, e);
      if (f === F_SYSLOG) this.lvl = SYSLOG_LEVEL[sev]!;
      return f;
    }
    return this.plain(b, s, e);
  }

  /** `Mmm dd hh:mm:ss host tag[pid]: msg` at p (s: line start, for the fallback). */
  private syslog3164(b: Buffer, s: number, p: number, e: number): number {
    const mo = monthOf(b[p]!, b[p + 1]!, b[p + 2]!);
    const d1 = b[p + 4]!;
    const d = (d1 === 32 ? 0 : d1 - 48) * 10 + (b[p + 5]! - 48);
    const h = num(b, p + 7, 2);
    const mi = num(b, p + 10, 2);
    const sec = num(b, p + 13, 2);
    if (!(d >= 1 && d <= 31) || h < 0 || mi < 0 || sec < 0 || b[p + 9] !== 58 || b[p + 12] !== 58 || b[p + 6] !== 32) return this.plain(b, s, e);
    const t = this.epoch(this.year, mo, d, h, mi, sec, 0);
    if (Number.isNaN(t)) return this.plain(b, s, e);
    this.ts = t;
    this.hasTs = true;
    // host, then the tag up to ': ' (bounded look-ahead)
    let q = p + 16;
    while (q < e && b[q] !== 32) q++;
    const limit = Math.min(e, q + 96);
    let r = q + 1;
    while (r < limit && !(b[r] === 58 && (r + 1 === e || b[r + 1] === 32))) r++;
    q = r < limit ? r + 1 : q;
    while (q < e && b[q] === 32) q++;
    this.msgS = q;
    this.levelScan(b, q, e, 1);
    return F_SYSLOG;
  }

  /** One JSON object per line: looks for level, time and message keys without a full parse. */
  private json(b: Buffer, s: number, e: number): number {
    let last = e - 1;
    while (last > s && (b[last] === 32 || b[last] === 9)) last--;
    let seenLevel = false;
    let seenTime = false;
    let seenMsg = false;
    let p = s + 1;
    let budget = 64; // keys examined per line
    while (p < e && budget-- > 0) {
      while (p < e && b[p] !== 34) p++;
      if (p >= e) break;
      const ks = ++p;
      while (p < e && b[p] !== 34) p += b[p] === 92 ? 2 : 1;
      if (p >= e) break; // never read past the line (a WASM twin must see the same bytes)
      const ke = p++;
      while (p < e && (b[p] === 32 || b[p] === 9)) p++;
      if (p >= e || b[p] !== 58) continue; // a string value, not a key
      p++;
      while (p < e && (b[p] === 32 || b[p] === 9)) p++;
      if (p >= e) break;
      const kind = jsonKey(b, ks, ke - ks);
      const v = b[p];
      if (v === 34) {
        const vs = ++p;
        while (p < e && b[p] !== 34) p += b[p] === 92 ? 2 : 1;
        const ve = Math.min(p, e);
        p++;
        if (kind === K_LEVEL && !seenLevel) {
          seenLevel = true;
          let w = vs;
          while (w < ve && isAlpha(b[w]!)) w++;
          const lv = w === ve ? levelWord(b, vs, ve - vs, true) : -1;
          if (lv >= 0) this.lvl = lv;
        } else if (kind === K_TIME && !seenTime) {
          seenTime = true;
          if (this.full && ve - vs >= 19 && b[vs + 4] === 45 && b[vs + 7] === 45) this.isoTime(b, vs, ve);
        } else if (kind === K_MSG && !seenMsg) {
          seenMsg = true;
          this.msgS = vs;
          this.msgE = ve;
        }
      } else if (kind !== 0 && ((v! >= 48 && v! <= 57) || v === 45)) {
        const ns = p;
        while (p < e && ((b[p]! >= 48 && b[p]! <= 57) || b[p] === 46 || b[p] === 45 || b[p] === 43 || b[p] === 101 || b[p] === 69)) p++;
        if (kind === K_LEVEL && !seenLevel) {
          seenLevel = true;
          this.lvl = numericLevel(num(b, ns, Math.min(p - ns, 3)));
        } else if (kind === K_TIME && !seenTime) {
          seenTime = true;
          const n = Number(b.toString('latin1', ns, p));
          if (Number.isFinite(n) && n > 0) {
            // epoch milliseconds (pino) or seconds with a fraction (zap)
            this.ts = Math.floor(n >= 1e11 ? n : n * 1000);
            this.hasTs = true;
          }
        }
      }
      if (seenLevel && (!this.full || (seenTime && seenMsg))) break;
    }
    if (b[last] !== 125) return F_NONE; // not closed: a cut or broken line
    return F_JSON;
  }

  /** key=value pairs (logfmt); falls back to plain text when the first token has no '='. */
  private logfmt(b: Buffer, s: number, e: number): number {
    let p = s;
    while (p < e && b[p] !== 61 && b[p] !== 32) p++;
    if (p >= e || b[p] !== 61) return this.access(b, s, e); // e.g. an access log from a named host
    p = s;
    let pairs = 0;
    while (p < e && pairs++ < 32) {
      while (p < e && b[p] === 32) p++;
      const ks = p;
      while (p < e && b[p] !== 61 && b[p] !== 32) p++;
      const ke = p;
      if (p >= e || b[p] !== 61) continue;
      p++;
      let vs = p;
      let ve: number;
      if (p < e && b[p] === 34) {
        vs = ++p;
        while (p < e && b[p] !== 34) p += b[p] === 92 ? 2 : 1;
        ve = Math.min(p, e);
        p++;
      } else {
        while (p < e && b[p] !== 32) p++;
        ve = p;
      }
      const kind = jsonKey(b, ks, ke - ks);
      if (kind === K_LEVEL) {
        const lv = levelWord(b, vs, ve - vs, true);
        if (lv >= 0) this.lvl = lv;
      } else if (kind === K_TIME) {
        if (ve - vs >= 19 && b[vs + 4] === 45 && b[vs + 7] === 45) this.isoTime(b, vs, ve);
      } else if (kind === K_MSG) {
        this.msgS = vs;
        this.msgE = ve;
      }
    }
    return F_LOGFMT;
  }

  /** `host ident user [dd/Mon/yyyy:HH:MM:SS ±zzzz] "METHOD path PROTO" status ...`; else plain. */
  private access(b: Buffer, s: number, e: number): number {
    let p = this.nextBracket;
    if (p < s) p = this.nextBracket = indexOrEnd(b, 91, s);
    if (p - s > 128 || p + 28 >= e || b[p - 1] !== 32) return this.plain(b, s, e);
    const d = num(b, p + 1, 2);
    const mo = monthOf(b[p + 4]!, b[p + 5]!, b[p + 6]!);
    const y = num(b, p + 8, 4);
    const h = num(b, p + 13, 2);
    const mi = num(b, p + 16, 2);
    const sec = num(b, p + 19, 2);
    const z = b[p + 22]!;
    const oh = num(b, p + 23, 2);
    const om = num(b, p + 25, 2);
    if (b[p + 3] !== 47 || b[p + 7] !== 47 || b[p + 12] !== 58 || b[p + 15] !== 58 || b[p + 18] !== 58 || b[p + 21] !== 32 || mo === 0 || d < 0 || y < 0 || h < 0 || mi < 0 || sec < 0 || oh < 0 || om < 0 || (z !== 43 && z !== 45) || b[p + 27] !== 93) {
      return this.plain(b, s, e);
    }
    const t = this.epoch(y, mo, d, h, mi, sec, 0);
    if (Number.isNaN(t)) return this.plain(b, s, e);
    // the request, then the status
    let q = p + 28;
    if (q + 1 >= e || b[q] !== 32 || b[q + 1] !== 34) return this.plain(b, s, e);
    q += 2;
    const rs = q;
    // the closing quote (an escaped \" inside the request is skipped)
    for (;;) {
      let x = this.nextQuote;
      if (x < q) x = this.nextQuote = indexOrEnd(b, 34, q);
      if (x >= e) {
        q = e;
        break;
      }
      if (b[x - 1] !== 92) {
        q = x;
        break;
      }
      q = x + 1;
    }
    const re = q;
    const status = q + 5 <= e && b[q + 1] === 32 ? num(b, q + 2, 3) : -1;
    if (status < 100) return this.plain(b, s, e);
    this.ts = t - (z === 43 ? 1 : -1) * (oh * 60 + om) * MINUTE;
    this.hasTs = true;
    this.lvl = status >= 500 ? ERROR : status >= 400 ? WARN : INFO;
    // message: METHOD path (query string and protocol dropped), keyed with the status
    let m = rs;
    while (m < re && b[m] !== 32) m++;
    m++;
    while (m < re && b[m] !== 32 && b[m] !== 63) m++;
    this.msgS = rs;
    this.msgE = Math.min(m, re);
    if (this.full) {
      this.seed = status;
      this.prefix = `${status} `;
    }
    return F_ACCESS;
  }

  /** No timestamp: a level word among the first tokens (`ERROR: disk full`, `[WARN] ...`), or nothing. */
  private plain(b: Buffer, s: number, e: number): number {
    if (this.levelScan(b, s, e, 3)) return F_PLAIN;
    this.msgS = s;
    return F_NONE;
  }

  // ---------------------------------------------------------------------------------------------

  levels(): Record<LogLevel, number> {
    return Object.fromEntries(LOG_LEVELS.map((l, i) => [l, this.levelCounts[i]!])) as Record<LogLevel, number>;
  }

  formats(): Record<LogFormat, number> {
    return Object.fromEntries(LOG_FORMATS.map((f, i) => [f, this.formatCounts[i]!])) as Record<LogFormat, number>;
  }

  firstLast(): { first: string | null; last: string | null } {
    if (this.minTs > this.maxTs) return { first: null, last: null };
    return { first: new Date(this.minTs).toISOString(), last: new Date(this.maxTs).toISOString() };
  }

  hourly(): HourBucket[] {
    return [...this.hours.entries()].sort((x, y) => x[0] - y[0]).map(([h, v]) => ({ hour: new Date(h * HOUR).toISOString(), lines: v.lines, errors: v.errors, warnings: v.warnings }));
  }

  errorRate(): ErrorRate {
    const series = [...this.errorMinutes.entries()].sort((x, y) => x[0] - y[0]).map(([m, n]) => ({ minute: new Date(m * MINUTE).toISOString(), errors: n }));
    let peak: ErrorRate['peak'] = null;
    for (const point of series) if (peak === null || point.errors > peak.errors) peak = point;
    const minutes = this.minTs > this.maxTs ? 0 : Math.max(1, (this.maxTs - this.minTs) / MINUTE);
    return { errors: this.timedErrors, minutes, perMinute: minutes > 0 ? this.timedErrors / minutes : 0, peak, series, minutesDropped: this.minutesDropped };
  }

  top(): { top: TopMessage[]; topProblems: TopMessage[] } {
    const render = (h: HeavyHitters): TopMessage[] =>
      h.top(this.topN).map((x) => ({ message: x.prefix + normalizeMessage(x.sample), count: x.count, maxError: x.maxError, level: LOG_LEVELS[x.level]! }));
    return { top: render(this.topAll), topProblems: render(this.topProblems) };
  }
}

/** The index of the first `byte` at or after `from` in b, or b.length when there is none. */
function indexOrEnd(b: Buffer, byte: number, from: number): number {
  const i = b.indexOf(byte, from);
  return i < 0 ? b.length : i;
}

/** The unsigned decimal of n digits at b[p], or -1 when one is not a digit. */
function num(b: Uint8Array, p: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = b[p + i]! - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

const K_LEVEL = 1;
const K_TIME = 2;
const K_MSG = 3;

const K4_TIME = p4('time');
const K4_DATE = p4('date');
const K4_LEVE = p4('leve');
const K4_MESS = p4('mess');
const K4_SEVE = p4('seve');
const K4_LOGL = p4('logl');
const K4_LOG_ = p4('log.');
const K4_ATTI = p4('@tim');

/** Which of the interesting keys b[s, s+len) is (level / time / message), or 0. */
function jsonKey(b: Uint8Array, s: number, len: number): number {
  if (len < 4) {
    if (len === 3) {
      const w = (b[s]! << 16) | (b[s + 1]! << 8) | b[s + 2]!;
      return w === 0x6d7367 ? K_MSG : w === 0x6c766c ? K_LEVEL : 0; // msg, lvl
    }
    if (len === 2) return b[s] === 116 && b[s + 1] === 115 ? K_TIME : 0; // ts
    return len === 1 && b[s] === 116 ? K_TIME : 0; // t
  }
  const w = ((b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]!) >>> 0;
  switch (len) {
    case 4:
      return w === K4_TIME || w === K4_DATE ? K_TIME : 0;
    case 5:
      return w === K4_LEVE && b[s + 4] === 108 ? K_LEVEL : 0;
    case 7:
      return w === K4_MESS && tailIs(b, s + 4, 'age', false) ? K_MSG : 0;
    case 8:
      return (w === K4_SEVE && tailIs(b, s + 4, 'rity', false)) || (w === K4_LOGL && tailIs(b, s + 4, 'evel', false)) ? K_LEVEL : 0;
    case 9:
      if (w === K4_TIME && tailIs(b, s + 4, 'stamp', false)) return K_TIME;
      return w === K4_LOG_ && tailIs(b, s + 4, 'level', false) ? K_LEVEL : 0;
    case 10:
      return w === K4_ATTI && tailIs(b, s + 4, 'estamp', false) ? K_TIME : 0;
    default:
      return 0;
  }
}
