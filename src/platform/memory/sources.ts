/**
 * Readers for the kernel's memory files: cgroup v2 (memory.max, memory.current, memory.stat,
 * memory.swap.current), the cgroup v1 fallback (memory.limit_in_bytes, memory.usage_in_bytes,
 * memory.stat), /proc/self/cgroup to find our own group, and /proc/meminfo. Every path is injectable
 * so tests feed synthetic files; every read is bounded; a malformed file raises MEMORY_SOURCE_INVALID
 * naming the file and line (the sampler records it and treats the reading as missing).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryError } from './errors.js';
import type { CgroupReading, SystemReading } from './types.js';

export interface SourcePaths {
  /** Where the cgroup v2 (unified) hierarchy is mounted. */
  cgroupV2Root: string;
  /** Where the cgroup v1 memory controller is mounted. */
  cgroupV1MemoryRoot: string;
  /** Our own membership, one `id:controllers:path` line per hierarchy. */
  procSelfCgroup: string;
  meminfo: string;
}

export const DEFAULT_PATHS: Readonly<SourcePaths> = {
  cgroupV2Root: '/sys/fs/cgroup',
  cgroupV1MemoryRoot: '/sys/fs/cgroup/memory',
  procSelfCgroup: '/proc/self/cgroup',
  meminfo: '/proc/meminfo',
};

/** Larger than any real cgroup or meminfo file; a bigger one is not what we think it is. */
export const MAX_SOURCE_BYTES = 64 * 1024;
/** cgroup v1 reports "no limit" as LONG_MAX rounded to a page; anything this large means unlimited. */
const UNLIMITED = 2 ** 60;

/** Reads a small file whole; null when it does not exist or cannot be read (permissions). */
export function readSmallFile(path: string, maxBytes = MAX_SOURCE_BYTES): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (_) {
    return null;
  }
  try {
    // procfs and cgroupfs report size 0, so read until EOF instead of trusting fstat.
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > maxBytes) throw new MemoryError('MEMORY_SOURCE_INVALID', `${path}: larger than ${maxBytes} bytes`, { file: path, limit: maxBytes });
    }
    return buf.toString('utf8', 0, len);
  } catch (err) {
    if (err instanceof MemoryError) throw err;
    return null;
  } finally {
    closeSync(fd);
  }
}

function invalid(file: string, line: number, message: string): MemoryError {
  return new MemoryError('MEMORY_SOURCE_INVALID', `${file}:${line}: ${message}`, { file, line });
}

const INTEGER = /^\d{1,20}$/;

/**
 * One cgroup value file (memory.max, memory.current, memory.limit_in_bytes...): a byte count, or
 * "max" / the v1 sentinel for "no limit" (null).
 */
export function parseCgroupValue(text: string, file: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  if (!INTEGER.test(value)) throw invalid(file, 1, `expected a byte count or "max", got ${JSON.stringify(value.slice(0, 40))}`);
  const n = Number(value);
  return n >= UNLIMITED ? null : n;
}

/** A `key value` file (memory.stat): the wanted keys as numbers; other lines are not looked at. */
export function parseFlatKeyed(text: string, file: string, wanted: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    if (!wanted.includes(key)) continue;
    const value = line.slice(space + 1).trim();
    if (space < 0 || !INTEGER.test(value)) throw invalid(file, i + 1, `${key}: expected an integer, got ${JSON.stringify(value.slice(0, 40))}`);
    out[key] = Number(value);
  }
  return out;
}

const MEMINFO_LINE = /^([A-Za-z0-9_()]+):\s+(\d{1,20})(?:\s+kB)?\s*$/;

/**
 * /proc/meminfo: `Key:   123 kB` lines, in bytes. MemTotal is required; MemAvailable (kernel 3.14+)
 * falls back to MemFree + Buffers + Cached as the kernel itself once estimated it.
 */
export function parseMeminfo(text: string, file: string): SystemReading {
  const values = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = MEMINFO_LINE.exec(line);
    if (!m) throw invalid(file, i + 1, `expected "Key: value kB", got ${JSON.stringify(line.slice(0, 60))}`);
    values.set(m[1]!, Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  const memTotal = values.get('MemTotal');
  if (memTotal === undefined || memTotal === 0) throw invalid(file, 1, 'no MemTotal line');
  const memAvailable = values.get('MemAvailable') ?? (values.get('MemFree') ?? 0) + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0);
  return { memTotal, memAvailable: Math.min(memAvailable, memTotal), swapTotal: values.get('SwapTotal') ?? 0, swapFree: values.get('SwapFree') ?? 0 };
}

export interface CgroupMembership {
  /** Path of our group in the v2 hierarchy (`0::/path`), if any. */
  v2: string | null;
  /** Path of our group in the v1 memory hierarchy (`N:memory:/path` or `N:...,memory,...:/path`). */
  v1Memory: string | null;
}

/** /proc/self/cgroup. */
export function parseProcSelfCgroup(text: string, file: string): CgroupMembership {
  const out: CgroupMembership = { v2: null, v1Memory: null };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) throw invalid(file, i + 1, `expected "id:controllers:path", got ${JSON.stringify(line.slice(0, 60))}`);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) throw invalid(file, i + 1, `cgroup path must start with "/", got ${JSON.stringify(path.slice(0, 60))}`);
    if (line.slice(0, first) === '0' && controllers === '') out.v2 = path;
    else if (controllers.split(',').includes('memory')) out.v1Memory = path;
  }
  return out;
}

/** Where our memory cgroup's files are, found once at start. */
export interface CgroupLocation {
  version: 1 | 2;
  dir: string;
}

/**
 * Finds our memory cgroup. v2 first (our group's directory, or the root when the container's
 * namespace shows its own group as "/"), a directory that really has memory.max; then v1.
 * Returns null when neither is mounted (macOS, a bare VM without cgroups).
 */
export function locateCgroup(paths: SourcePaths): CgroupLocation | null {
  const selfText = readSmallFile(paths.procSelfCgroup);
  const self = selfText === null ? { v2: null, v1Memory: null } : parseProcSelfCgroup(selfText, paths.procSelfCgroup);
  const v2Candidates = [self.v2 ? join(paths.cgroupV2Root, self.v2) : null, paths.cgroupV2Root];
  for (const dir of v2Candidates) if (dir && existsSync(join(dir, 'memory.max'))) return { version: 2, dir };
  const v1Candidates = [self.v1Memory ? join(paths.cgroupV1MemoryRoot, self.v1Memory) : null, paths.cgroupV1MemoryRoot];
  for (const dir of v1Candidates) if (dir && existsSync(join(dir, 'memory.limit_in_bytes'))) return { version: 1, dir };
  return null;
}

function readValue(dir: string, name: string): number | null {
  const file = join(dir, name);
  const text = readSmallFile(file);
  return text === null ? null : parseCgroupValue(text, file);
}

/** Reads limit, usage and working set from a located cgroup. */
export function readCgroup(loc: CgroupLocation): CgroupReading {
  const v2 = loc.version === 2;
  const limit = readValue(loc.dir, v2 ? 'memory.max' : 'memory.limit_in_bytes');
  const usage = readValue(loc.dir, v2 ? 'memory.current' : 'memory.usage_in_bytes');
  const statFile = join(loc.dir, 'memory.stat');
  const statText = readSmallFile(statFile);
  const inactiveKey = v2 ? 'inactive_file' : 'total_inactive_file';
  const stat = statText === null ? {} : parseFlatKeyed(statText, statFile, [inactiveKey]);
  const inactive = stat[inactiveKey] ?? 0;
  const workingSet = usage === null ? null : Math.max(0, usage - inactive);
  const swapUsage = v2 ? readValue(loc.dir, 'memory.swap.current') : null;
  return { version: loc.version, limit, usage, workingSet, swapUsage };
}

/** /proc/meminfo, or null when the file does not exist (not Linux). */
export function readSystem(path: string): SystemReading | null {
  const text = readSmallFile(path);
  return text === null ? null : parseMeminfo(text, path);
}

const MIB = 1024 * 1024;

function lastFlag(args: readonly string[], names: readonly string[]): number | null {
  let found: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    for (const name of names) {
      let value: string | undefined;
      if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
      else if (arg === name) value = args[i + 1];
      if (value !== undefined && /^\d{1,9}(\.\d+)?$/.test(value)) found = Number(value);
    }
  }
  return found;
}

/**
 * The V8 old-generation limit in bytes: what "JavaScript heap out of memory" is measured against.
 * heap_size_limit also counts the young generation's reservation (3 × the semi-space, 48 MiB by
 * default on Node 20), which never fills with live data; comparing live data with it would show 60%
 * at the moment the process dies. So: the --max-old-space-size flag when given (command line wins
 * over NODE_OPTIONS, as in Node), else heap_size_limit minus 3 × the semi-space.
 */
export function oldGenerationLimit(heapSizeLimit: number, execArgv: readonly string[], nodeOptions: string | undefined): number {
  const args = [...(nodeOptions ?? '').split(/\s+/).filter(Boolean), ...execArgv];
  const old = lastFlag(args, ['--max-old-space-size', '--max_old_space_size']);
  if (old !== null && old > 0) return Math.min(old * MIB, heapSizeLimit);
  const semi = lastFlag(args, ['--max-semi-space-size', '--max_semi_space_size']) ?? 16;
  const derived = heapSizeLimit - 3 * semi * MIB;
  return derived > 0 ? derived : heapSizeLimit;
}
