/** Which implementation served a call. */
export type KernelImpl = 'wasm' | 'js';

/** The kernels every implementation provides (the WASM module and its JS twins). */
export const KERNEL_NAMES = ['sum', 'dot', 'stats', 'percentile', 'countByte', 'indexOf', 'byteOffsets', 'popcount', 'jaccard', 'maskedHash'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** mean, population variance, min and max of a float vector (NaN for each when it is empty). */
export interface F32Stats {
  mean: number;
  variance: number;
  min: number;
  max: number;
}

/**
 * One implementation of the kernels. Inputs are assumed valid here: the facade (kernels.ts) checks
 * them once for both implementations.
 *
 *   k.dot(new Float32Array([1, 2]), new Float32Array([3, 4])) // 11
 */
export interface KernelFunctions {
  readonly impl: KernelImpl;
  /** Sum of the floats. */
  sum(a: Float32Array): number;
  /** Dot product of two vectors of the same length. */
  dot(a: Float32Array, b: Float32Array): number;
  stats(a: Float32Array): F32Stats;
  /** q-th percentile (0..100, linear interpolation like numpy) of the last `window` values. */
  percentile(a: Float32Array, q: number, window: number): number;
  /** How many bytes of `buf` equal `byte`. */
  countByte(buf: Uint8Array, byte: number): number;
  /** First index >= from where `needle` occurs in `buf`, or -1. */
  indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number;
  /** Writes the offset of every `byte` in `buf` into `out` (at most out.length); returns how many. */
  byteOffsets(buf: Uint8Array, byte: number, out: Int32Array): number;
  /** Set bits in a bitset of 32-bit words. */
  popcount(bits: Uint32Array): number;
  /** |A ∩ B| / |A ∪ B| of two bitsets of the same length; 1 when both are empty. */
  jaccard(a: Uint32Array, b: Uint32Array): number;
  /** 53-bit hash of buf[start, end) with number-bearing words masked (see masked.ts). */
  maskedHash(buf: Uint8Array, start: number, end: number, seed: number): number;
}

/**
 * A reusable buffer plus newline splitter, for streaming text through: the caller writes bytes into
 * `buffer`, `scan(length)` finds the line ends. The WASM scanner's buffer lives inside its own
 * instance's memory, so reading a file into it and scanning costs no copy.
 */
export interface LineScanner {
  readonly impl: KernelImpl;
  /** `capacity` bytes to read into. */
  readonly buffer: Buffer;
  /** Offsets of the '\n' bytes the last scan found (the first `count` entries are valid). */
  readonly ends: Int32Array;
  /** Finds every '\n' in buffer[0, length); returns how many (their offsets are in `ends`). */
  scan(length: number): number;
  /** maskedHash of buffer[start, end), in place (no copy). */
  hash(start: number, end: number, seed: number): number;
  /**
   * WASM scanners only: the log analyzer's level pass. Splits buffer[start, length) into lines itself
   * and counts every complete one into `levelCounts` (zeroed first): [0..6] levels fatal..unknown,
   * [7..13] formats iso syslog json access logfmt plain none, [14] blank, [15] malformed, [16] lines,
   * [17] the start of the incomplete last line. The rules are the log analyzer's (see
   * assembly/index.ts logLevels); `scan` is not needed before it.
   */
  levels?(start: number, length: number): void;
  readonly levelCounts?: Int32Array;
}

/** Anything that can hand out line scanners (the Kernels facade does). */
export interface LineScannerFactory {
  lineScanner(capacity: number): LineScanner;
}

/** The smallest logger the kernels need; pino satisfies it. */
export interface KernelLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}
