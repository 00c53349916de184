import { spawn, type ChildProcess } from 'node:child_process';

/** tsx's loader by absolute URL, so a child started in a temp dir still finds it. */
export const TSX_LOADER = import.meta.resolve('tsx');
export const CODECTL_MAIN = new URL('../../src/runtime/cli/main.ts', import.meta.url).pathname;

/** A clean environment for a child: no CODE_* variables of the developer's. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...extra };
}

/** Starts `codectl ARGS` from the TypeScript sources. */
export function spawnCodectl(args: string[], opts: { cwd: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, CODECTL_MAIN, ...args], { cwd: opts.cwd, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `codectl ARGS` to completion. */
export async function runCodectl(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCodectl(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, stdout, stderr };
}

/**
 * Runs codectl in this process, in `cwd`, with captured output (fast: no child, no tsx start-up).
 * `tty` makes stderr look like a terminal (progress bars).
 */
export async function runCliInProcess(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  const { PassThrough } = await import('node:stream');
  const { runCli } = await import('../../src/runtime/cli/program.js');
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), opts.tty ? { isTTY: true, columns: 100 } : {});
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c));
  stderr.on('data', (c: Buffer) => (err += c));
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await runCli(args, { stdout, stderr, env: opts.env ?? {} });
    return { code, out, err };
  } finally {
    process.chdir(before);
  }
}
