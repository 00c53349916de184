// analyzeLogs(paths, opts): the entry point for the CLI, the HTTP route and the check flow.
// Streaming with bounded memory: one chunk buffer (chunkBytes, default 1 MiB) from a line scanner
// (two when level counting reads files into WASM memory), the bounded maps of the accumulator,
// nothing that grows with the input.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { createJsLineScanner } from '../../platform/kernels/js.js';
import type { LineScanner, LineScannerFactory } from '../../platform/kernels/types.js';
import { isCodeError } from '../../platform/errors.js';
import { LogAccumulator } from './accumulate.js';
import { LogsError } from './errors.js';
import { resolveSources } from './sources.js';
import type { AnalyzeOptions, FileReport, LogReport } from './types.js';

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const MIN_CHUNK_BYTES = 1 << 12;
export const MAX_CHUNK_BYTES = 1 << 26;
export const MAX_TOP = 1000;

const jsScanners: LineScannerFactory = { lineScanner: createJsLineScanner };

function intOption(name: string, value: number | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LogsError('LOGS_INPUT_INVALID', `option ${name} must be an integer in ${min}..${max}`, { key: name, value, min, max });
  }
  return value;
}

/** Where a read goes: buf[off, off + len). */
interface ReadTarget {
  buf: Buffer;
  off: number;
  len: number;
}

/**
 * Moves lines from a scanner's buffer into the accumulator, carrying the partial last line.
 *
 * Level counting on WASM scanners reads files with no copy: two scanners take turns, the next read
 * lands in one's buffer (at `reserve`) while the other's is counted, and only the partial line carried
 * from one to the other is copied in front of the new bytes. Windows never exceed `capacity`, so a
 * line longer than chunkBytes is cut exactly as when bytes are pushed.
 */
class LineFeeder {
  /** Length and start of the partial line carried into the next window (in `scanner.buffer`). */
  private carry = 0;
  private cs = 0;
  /** Inside a line longer than the buffer: drop bytes up to its end. */
  private skipping = false;
  readonly capacity: number;
  /** The scanner whose buffer holds the carry (and which push() fills). */
  private scanner: LineScanner;

  /** Level counting on a WASM scanner: ISO lines are counted by its level pass, the rest here. */
  private readonly wasmLevels: boolean;
  /** Zero-copy file reads (level counting, two WASM scanners): room kept in front of each read. */
  private readonly reserve: number;
  /** Read targets for files: the two scanners' buffers (zero-copy) or two plain buffers. */
  private readonly targets: ReadTarget[] = [];
  /** A read whose carry did not fit in `reserve` waits here, to be pushed (copied) instead. */
  private spill: Buffer | undefined;
  private spilled = false;

  constructor(
    private readonly scanners: readonly LineScanner[],
    private readonly acc: LogAccumulator,
    mode: 'full' | 'levels',
  ) {
    this.scanner = scanners[0]!;
    this.capacity = this.scanner.buffer.length;
    this.wasmLevels = mode === 'levels' && this.scanner.levels !== undefined;
    this.reserve = scanners.length === 2 && this.wasmLevels && scanners[1]!.levels !== undefined ? Math.min(1 << 16, this.capacity >> 2) : 0;
  }

  /** Where file read number `slot` (0 or 1, alternating) goes. */
  target(slot: number): ReadTarget {
    let t = this.targets[slot];
    if (t === undefined) {
      t = this.reserve > 0
        ? { buf: this.scanners[slot]!.buffer, off: this.reserve, len: this.capacity - this.reserve }
        : { buf: Buffer.allocUnsafe(this.capacity), off: 0, len: this.capacity };
      this.targets[slot] = t;
    }
    return t;
  }

  /**
   * `n` bytes were read into target(slot): puts the carried partial line in front of them. Call it
   * before starting the next read, which may overwrite the buffer the carry is in.
   */
  arrived(slot: number, n: number): void {
    if (this.reserve === 0) return;
    const next = this.scanners[slot]!;
    const r = this.reserve;
    const c = this.carry;
    this.spilled = c > r;
    if (this.spilled) {
      // a long partial line: fall back to pushing, as from a stream
      this.spill ??= Buffer.allocUnsafe(this.capacity - r);
      next.buffer.copy(this.spill, 0, r, r + n);
      if (c > 0) this.scanner.buffer.copy(next.buffer, 0, this.cs, this.cs + c);
      this.cs = 0;
    } else {
      if (c > 0) this.scanner.buffer.copy(next.buffer, r - c, this.cs, this.cs + c);
      this.cs = r - c;
    }
    this.scanner = next;
  }

  /** Analyses what arrived(slot, n) made ready. */
  process(slot: number, n: number): void {
    const t = this.target(slot);
    if (this.reserve === 0) this.push(t.buf.subarray(0, n));
    else if (this.spilled) this.push(this.spill!.subarray(0, n));
    else this.commitLevels(this.cs, this.reserve + n);
  }

  /** `n` bytes were written at buffer[carry] (the carry at 0): analyse every complete line. */
  private commit(n: number): void {
    if (this.wasmLevels) {
      this.commitLevels(0, this.carry + n);
      if (this.carry > 0 && this.cs > 0) this.scanner.buffer.copyWithin(0, this.cs, this.cs + this.carry);
      this.cs = 0;
      return;
    }
    const len = this.carry + n;
    const buf = this.scanner.buffer;
    const count = this.scanner.scan(len);
    const ends = this.scanner.ends;
    let k = 0;
    let s = 0;
    if (this.skipping) {
      if (count === 0) {
        this.carry = 0;
        return;
      }
      s = ends[0]! + 1;
      k = 1;
      this.skipping = false;
    }
    s = this.acc.lines(buf, ends, k, count, s);
    if (s === 0 && len === this.capacity) {
      // no line end in a full buffer: analyse the first chunkBytes of this line, skip the rest
      this.acc.single(buf, 0, len);
      this.acc.truncated++;
      this.skipping = true;
      this.carry = 0;
      return;
    }
    this.carry = len - s;
    if (this.carry > 0 && s > 0) buf.copyWithin(0, s, len);
  }

  /**
   * Level counting on a WASM scanner: one call splits and classifies the window buffer[w0, end), at
   * most `capacity` bytes; the partial last line stays where it is (cs, carry).
   */
  private commitLevels(w0: number, end: number): void {
    const buf = this.scanner.buffer;
    let s = w0;
    if (this.skipping) {
      const nl = buf.indexOf(10, w0);
      if (nl < 0 || nl >= end) {
        this.carry = 0;
        return;
      }
      s = nl + 1;
      this.skipping = false;
    }
    const counts = this.scanner.levelCounts!;
    this.scanner.levels!(s, end);
    this.acc.addLevelCounts(counts);
    s = counts[17]!;
    if (s === w0 && end - w0 === this.capacity) {
      this.acc.single(buf, w0, end);
      this.acc.truncated++;
      this.skipping = true;
      this.carry = 0;
      return;
    }
    this.carry = end - s;
    this.cs = s;
  }

  /** Copies a chunk from a stream in, committing as the buffer fills. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(this.capacity - this.carry, chunk.length - at);
      this.scanner.buffer.set(chunk.subarray(at, at + n), this.carry);
      at += n;
      this.commit(n);
    }
  }

  /** End of input: the last line may lack its '\n'. */
  end(): void {
    if (this.carry > 0 && !this.skipping) this.acc.single(this.scanner.buffer, this.cs, this.cs + this.carry);
    this.carry = 0;
    this.cs = 0;
    this.skipping = false;
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LogsError('LOGS_ABORTED', 'log analysis aborted', {});
}

async function readFile(path: string, feeder: LineFeeder, signal: AbortSignal | undefined): Promise<{ bytes: number; gzip: boolean }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new LogsError('LOGS_FILE_NOT_FOUND', `no such file: ${path}`, { path });
    throw new LogsError('LOGS_READ_FAILED', `cannot read ${path}: ${e.message}`, { path, reason: e.code ?? e.message });
  }
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    if (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b) {
      let bytes = 0;
      try {
        for await (const chunk of fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 16 }).pipe(createGunzip({ chunkSize: 1 << 16 }))) {
          aborted(signal);
          bytes += (chunk as Buffer).length;
          feeder.push(chunk as Buffer);
        }
      } catch (err) {
        if (isCodeError(err)) throw err;
        throw new LogsError('LOGS_READ_FAILED', `cannot decompress ${path}: ${(err as Error).message}`, { path, reason: (err as NodeJS.ErrnoException).code ?? 'gzip' });
      }
      return { bytes, gzip: true };
    }
    // Two read targets: the next read is in flight (on libuv's thread pool) while this chunk is
    // analysed. Reading into the buffer being analysed would leave this thread idle during every read.
    let which = 0;
    const first = feeder.target(0);
    let pending: Promise<{ bytesRead: number }> | undefined = fh.read(first.buf, first.off, first.len, null);
    let bytes = 0;
    try {
      for (;;) {
        const { bytesRead } = await pending!;
        pending = undefined;
        if (bytesRead === 0) break;
        aborted(signal);
        const slot = which;
        which ^= 1;
        feeder.arrived(slot, bytesRead);
        const next = feeder.target(which);
        pending = fh.read(next.buf, next.off, next.len, null);
        bytes += bytesRead;
        feeder.process(slot, bytesRead);
      }
    } finally {
      // never leave a read running on a handle about to close
      if (pending) await pending.catch(() => undefined);
    }
    return { bytes, gzip: false };
  } catch (err) {
    if (isCodeError(err)) throw err;
    throw new LogsError('LOGS_READ_FAILED', `cannot read ${path}: ${(err as Error).message}`, { path, reason: (err as NodeJS.ErrnoException).code ?? 'io' });
  } finally {
    await fh.close();
  }
}

async function readStream(stream: AsyncIterable<Uint8Array>, feeder: LineFeeder, signal: AbortSignal | undefined): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) {
    aborted(signal);
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += c.length;
    feeder.push(c);
  }
  return bytes;
}

/**
 * Analyses log files (paths, globs, gzip detected by content, `-` for stdin) into one report.
 *
 *   const report = await analyzeLogs(['/var/log/app/*.log', 'old.log.gz'], { kernels: engine.kernels });
 *   report.levels.error; report.hourly; report.topProblems[0]?.message
 *
 * Errors (LogsError): LOGS_FILE_NOT_FOUND, LOGS_NO_MATCH, LOGS_NOT_A_FILE, LOGS_PATH_DENIED (outside
 * `roots`), LOGS_TOO_MANY_FILES, LOGS_READ_FAILED (I/O, corrupt gzip), LOGS_INPUT_INVALID, LOGS_ABORTED.
 * A line the analyzer cannot make sense of is counted as malformed, never an error.
 */
export async function analyzeLogs(paths: readonly string[], opts: AnalyzeOptions = {}): Promise<LogReport> {
  const t0 = performance.now();
  const mode = opts.mode ?? 'full';
  if (mode !== 'full' && mode !== 'levels') throw new LogsError('LOGS_INPUT_INVALID', 'option mode must be "full" or "levels"', { key: 'mode', value: mode });
  const top = intOption('top', opts.top, 10, 0, MAX_TOP);
  const chunkBytes = intOption('chunkBytes', opts.chunkBytes, DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
  const maxFiles = intOption('maxFiles', opts.maxFiles, 1000, 1, 100_000);
  const maxHours = intOption('maxHours', opts.maxHours, 9600, 1, 1_000_000);
  const maxErrorMinutes = intOption('maxErrorMinutes', opts.maxErrorMinutes, 10_080, 1, 1_000_000);
  const year = intOption('year', opts.year, new Date().getUTCFullYear(), 1970, 9999);
  aborted(opts.signal);

  const sources = await resolveSources(paths, { cwd: opts.cwd ?? process.cwd(), roots: opts.roots, maxFiles, signal: opts.signal });
  const factory = opts.kernels ?? jsScanners;
  const scanner = factory.lineScanner(chunkBytes);
  // level counting on WASM reads files into two scanners in turn (see LineFeeder)
  const zeroCopy = mode === 'levels' && scanner.levels !== undefined && sources.some((s) => s.kind === 'file');
  const scanners = zeroCopy ? [scanner, factory.lineScanner(chunkBytes)] : [scanner];
  const acc = new LogAccumulator({ mode, top, year, maxHours, maxErrorMinutes, hash: scanner.hash });
  const feeder = new LineFeeder(scanners, acc, mode);
  const files: FileReport[] = [];
  let bytes = 0;
  for (const src of sources) {
    const before = acc.lineCount;
    let read: { bytes: number; gzip: boolean };
    if (src.kind === 'file') read = await readFile(src.path, feeder, opts.signal);
    else read = { bytes: await readStream(opts.stdin ?? (process.stdin as AsyncIterable<Uint8Array>), feeder, opts.signal), gzip: false };
    feeder.end();
    bytes += read.bytes;
    files.push({ path: src.kind === 'file' ? src.path : '-', bytes: read.bytes, lines: acc.lineCount - before, gzip: read.gzip });
  }

  const full = mode === 'full';
  const { first, last } = full ? acc.firstLast() : { first: null, last: null };
  const tops = full ? acc.top() : { top: [], topProblems: [] };
  return {
    mode,
    files,
    bytes,
    lines: acc.lineCount,
    blank: acc.blank,
    malformed: acc.malformed,
    truncated: acc.truncated,
    levels: acc.levels(),
    formats: acc.formats(),
    firstTimestamp: first,
    lastTimestamp: last,
    untimed: full ? acc.untimed : 0,
    hourly: full ? acc.hourly() : [],
    hoursDropped: acc.hoursDropped,
    errorRate: full ? acc.errorRate() : { errors: 0, minutes: 0, perMinute: 0, peak: null, series: [], minutesDropped: 0 },
    top: tops.top,
    topProblems: tops.topProblems,
    kernel: scanner.impl,
    durationMs: performance.now() - t0,
  };
}
