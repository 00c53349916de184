import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { commands } from './commands/index.js';
import { createContext, type ContextOptions } from './context.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Runs codectl with `argv` (without node and the script) and resolves with the exit code:
 * 0 ok, 1 a check failed, 2 bad usage or input. Never throws, never prints a stack
 * (CODE_DEBUG=1 does). `serve` keeps running: it resolves once the server is listening.
 */
export async function runCli(argv: string[], opts: ContextOptions = {}): Promise<number> {
  const ctx = createContext(opts);
  const program = new Command('codectl')
    .description('CODE: validate deployment specs, probe services, analyse logs, consult experts.')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'config file (default: ./codectl.yaml, or CODE_CONFIG)')
    .option('--json', 'machine-readable output on stdout (logs stay on stderr)')
    .option('-v, --verbose', 'debug logs on stderr')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(`codectl: ${s.replace(/^error: /, '').trimEnd()} (codectl --help for usage)\n`),
    })
    .addHelpText('after', '\nExit codes: 0 ok, 1 a check failed, 2 bad usage or input.\nEvery key of codectl.yaml can be set by a CODE_<SECTION>_<KEY> environment variable.');
  for (const c of commands) c.register(program, ctx);
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput(program.configureOutput()).showSuggestionAfterError(true);
      inherit(sub);
    }
  };
  inherit(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return ctx.exitCode;
}
