// Turns the paths a caller gives (files, globs, `-` for stdin) into the list of files to read,
// enforcing the limits (file count, directory entries visited) and, when roots are configured, that
// every file resolves — symlinks followed — inside one of them.
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { LogsError } from './errors.js';

export const MAX_PATHS = 256;
export const MAX_PATH_LENGTH = 4096;
/** Directory entries a glob may look at before giving up. */
export const MAX_GLOB_VISITS = 200_000;
const MAX_GLOB_DEPTH = 32;

export type Source = { kind: 'file'; path: string } | { kind: 'stdin' };

export function isGlob(p: string): boolean {
  return /[*?[{]/.test(p);
}

/** A regular expression for one path segment of a glob: * ? [abc] [!a-z] {x,y}. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  let i = 0;
  let braces = 0;
  while (i < segment.length) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\/]/g, '\\$&');
    i++;
  }
  if (braces > 0) throw new LogsError('LOGS_INPUT_INVALID', `unbalanced { in glob segment "${segment}"`, { segment });
  // like a shell, a wildcard does not match a leading dot unless the pattern starts with one
  const dot = segment.startsWith('.') ? '' : '(?!\\.)';
  try {
    return new RegExp(`^${dot}${re}$`);
  } catch {
    throw new LogsError('LOGS_INPUT_INVALID', `invalid glob segment "${segment}"`, { segment });
  }
}

function under(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(r.endsWith(sep) ? r : r + sep));
}

/** Expands one absolute glob pattern to the sorted files it matches. */
export async function expandGlob(pattern: string, opts: { maxFiles: number; signal?: AbortSignal | undefined }): Promise<string[]> {
  const segments = pattern.split(sep);
  let first = segments.findIndex((s) => isGlob(s));
  if (first < 0) first = segments.length;
  const base = segments.slice(0, first).join(sep) || sep;
  const parts = segments.slice(first);
  const matchers = parts.map((p) => (p === '**' ? null : segmentRegExp(p)));
  const found = new Set<string>();
  let visits = 0;

  const walk = async (dir: string, i: number, depth: number): Promise<void> => {
    if (opts.signal?.aborted) throw new LogsError('LOGS_ABORTED', 'log analysis aborted', {});
    if (depth > MAX_GLOB_DEPTH) return;
    if (i === parts.length) return;
    let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }>;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished directories simply match nothing
    }
    visits += entries.length;
    if (visits > MAX_GLOB_VISITS) {
      throw new LogsError('LOGS_TOO_MANY_FILES', `glob "${pattern}" looked at more than ${MAX_GLOB_VISITS} directory entries`, { pattern, limit: MAX_GLOB_VISITS });
    }
    const m = matchers[i];
    const last = i === parts.length - 1;
    if (m === null) {
      // `**`: zero directories (try the next segment here) or one more level (stay on `**`)
      if (last) {
        for (const e of entries) if (!e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink())) await add(join(dir, e.name));
      } else await walk(dir, i + 1, depth);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), i, depth + 1);
      return;
    }
    for (const e of entries) {
      if (!m!.test(e.name)) continue;
      const path = join(dir, e.name);
      if (last) await add(path);
      else if (e.isDirectory()) await walk(path, i + 1, depth + 1);
      else if (e.isSymbolicLink()) {
        const st = await stat(path).catch(() => null);
        if (st?.isDirectory()) await walk(path, i + 1, depth + 1);
      }
    }
  };

  const add = async (path: string): Promise<void> => {
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return;
    found.add(path);
    if (found.size > opts.maxFiles) {
      throw new LogsError('LOGS_TOO_MANY_FILES', `glob "${pattern}" matches more than ${opts.maxFiles} files`, { pattern, limit: opts.maxFiles });
    }
  };

  await walk(base, 0, 0);
  return [...found].sort();
}

/**
 * Resolves paths to sources. With `roots`, relative paths resolve against the first root and every
 * file must be inside a root after following symlinks; `-` (stdin) is refused.
 */
export async function resolveSources(
  paths: readonly string[],
  opts: { cwd: string; roots?: readonly string[] | undefined; maxFiles: number; signal?: AbortSignal | undefined },
): Promise<Source[]> {
  if (!Array.isArray(paths) || paths.length === 0) throw new LogsError('LOGS_INPUT_INVALID', 'no log paths given', {});
  if (paths.length > MAX_PATHS) throw new LogsError('LOGS_INPUT_INVALID', `too many paths (${paths.length}, limit ${MAX_PATHS})`, { count: paths.length, limit: MAX_PATHS });
  const roots = opts.roots === undefined ? undefined : await Promise.all(opts.roots.map(async (r) => realpath(resolve(opts.cwd, r)).catch(() => resolve(opts.cwd, r))));
  if (roots !== undefined && roots.length === 0) {
    throw new LogsError('LOGS_PATH_DENIED', 'no log roots are configured (set logs.roots), so no path may be read', { reason: 'no roots configured' });
  }
  const base = roots?.[0] ?? opts.cwd;
  const out: Source[] = [];
  const seen = new Set<string>();
  let stdin = false;

  const deny = (path: string): never => {
    throw new LogsError('LOGS_PATH_DENIED', `${path} is outside the configured log roots`, { path });
  };

  for (const raw of paths) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PATH_LENGTH || raw.includes('\0')) {
      throw new LogsError('LOGS_INPUT_INVALID', `invalid path ${JSON.stringify(String(raw).slice(0, 80))}`, { path: String(raw).slice(0, 200) });
    }
    if (raw === '-') {
      if (roots !== undefined) throw new LogsError('LOGS_PATH_DENIED', 'stdin cannot be read when log roots are configured', { path: '-' });
      if (!stdin) out.push({ kind: 'stdin' });
      stdin = true;
      continue;
    }
    const abs = isAbsolute(raw) ? resolve(raw) : resolve(base, raw);
    let files: string[];
    if (isGlob(raw)) {
      // the literal directory part must already be inside a root: never list directories outside
      const literal = abs.split(sep).filter((_, i, all) => !all.slice(0, i + 1).some((s) => isGlob(s))).join(sep) || sep;
      if (roots !== undefined && !under(literal, roots)) {
        const real = await realpath(literal).catch(() => literal);
        if (!under(real, roots)) deny(raw);
      }
      files = await expandGlob(abs, { maxFiles: opts.maxFiles, signal: opts.signal });
      if (files.length === 0) throw new LogsError('LOGS_NO_MATCH', `no file matches ${raw}`, { pattern: raw });
    } else {
      if (roots !== undefined && !under(abs, roots)) deny(raw);
      const st = await stat(abs).catch((err: NodeJS.ErrnoException) => err);
      if (st instanceof Error) {
        if (st.code === 'ENOENT' || st.code === 'ENOTDIR') throw new LogsError('LOGS_FILE_NOT_FOUND', `no such file: ${raw}`, { path: raw });
        throw new LogsError('LOGS_READ_FAILED', `cannot read ${raw}: ${st.message}`, { path: raw, reason: st.code ?? st.message });
      }
      if (!st.isFile()) throw new LogsError('LOGS_NOT_A_FILE', `${raw} is not a regular file`, { path: raw });
      files = [abs];
    }
    for (const file of files) {
      if (roots !== undefined) {
        const real = await realpath(file).catch(() => file);
        if (!under(real, roots)) deny(file);
      }
      if (seen.has(file)) continue;
      seen.add(file);
      out.push({ kind: 'file', path: file });
      if (out.length > opts.maxFiles) throw new LogsError('LOGS_TOO_MANY_FILES', `more than ${opts.maxFiles} files to read`, { limit: opts.maxFiles });
    }
  }
  return out;
}
