import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { isCodeError } from '../../platform/errors.js';
import { createEngine, type Engine, type EngineOptions } from '../engine.js';
import { errorEntry } from '../errors/catalogue.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
}

/** What every command gets: engine construction, output, exit codes. */
export interface CliContext {
  /** Builds the engine in-process from the global options (closed by `run` when the action ends). */
  engine(cmd: Command, opts?: Omit<EngineOptions, 'path'>): Promise<Engine>;
  globals(cmd: Command): GlobalOptions;
  /** `--json`: the data as JSON on stdout; otherwise the text rendering. */
  print(cmd: Command, data: unknown, text: () => string): void;
  /** Wraps an action: errors become one line on stderr and the catalogue's exit code. */
  run<A extends unknown[]>(action: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
  /** Set by commands whose check failed (exit 1) without an error. */
  setExitCode(code: number): void;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface ContextOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

export function createContext(opts: ContextOptions = {}): CliContext & { exitCode: number; closeAll(): Promise<void> } {
  const stdout = (opts.stdout ?? process.stdout) as CliContext['stdout'];
  const stderr = (opts.stderr ?? process.stderr) as CliContext['stderr'];
  const engines: Engine[] = [];
  const ctx = {
    exitCode: 0,
    stdout,
    stderr,
    globals: (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>(),
    async engine(cmd: Command, extra: Omit<EngineOptions, 'path'> = {}) {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { pino } = await import('pino');
      // Commands keep stderr quiet unless asked: warnings and errors only.
      const logger = extra.logger ?? pino({ level: g.verbose ? 'debug' : 'warn' }, pino.destination({ fd: 2, sync: true }));
      const engine = await createEngine({ ...(g.config ? { path: g.config } : {}), ...(opts.env ? { env: opts.env } : {}), logger, ...extra });
      engines.push(engine);
      return engine;
    },
    print(cmd: Command, data: unknown, text: () => string) {
      if (cmd.optsWithGlobals<GlobalOptions>().json) stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else stdout.write(`${text()}\n`);
    },
    setExitCode(code: number) {
      ctx.exitCode = Math.max(ctx.exitCode, code);
    },
    run<A extends unknown[]>(action: (...args: A) => Promise<number | void>) {
      return async (...args: A) => {
        try {
          const code = await action(...args);
          if (typeof code === 'number') ctx.setExitCode(code);
        } catch (err) {
          ctx.setExitCode(reportError(err, stderr, opts.env ?? process.env));
        } finally {
          await ctx.closeAll();
        }
      };
    },
    async closeAll() {
      for (const e of engines.splice(0).reverse()) await e.close();
    },
  };
  return ctx;
}

/** One clear line (plus the issue list for config errors); a stack only with CODE_DEBUG=1. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv): number {
  if (isCodeError(err)) {
    stderr.write(`codectl: ${err.message} [${err.code}]\n`);
    return errorEntry(err.code).exit;
  }
  stderr.write(`codectl: internal error: ${(err as Error)?.message ?? String(err)}${env.CODE_DEBUG ? `\n${(err as Error)?.stack}` : ' (CODE_DEBUG=1 shows the stack)'}\n`);
  return 1;
}

/** commander argument parsers that fail as usage errors (exit 2). */
export function parseInteger(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}
