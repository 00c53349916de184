import type { Command } from 'commander';
import { stringify } from 'yaml';
import { parseInteger, type CliContext } from '../context.js';
import { formatTime, formatValue, table } from '../format.js';

export function register(program: Command, ctx: CliContext): void {
  const config = program
    .command('config')
    .description('show the configuration, its versions, and roll back')
    .addHelpText('after', '\nExamples:\n  $ codectl config show\n  $ codectl config history\n  $ codectl config diff 1 3\n  $ codectl config rollback 2');

  config
    .command('show')
    .description('the configuration in force (file + CODE_* environment + defaults)')
    .action(ctx.run(async (_opts: unknown, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      ctx.print(cmd, { config: engine.settings, pendingRestart: [...engine.config.pendingRestart] }, () => stringify(engine.settings).trimEnd());
    }));

  config
    .command('history')
    .description('numbered config versions, newest first')
    .option('--limit <n>', 'how many', parseInteger(1, 1000), 20)
    .action(ctx.run(async (opts: { limit: number }, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const versions = await engine.config.history(opts.limit);
      ctx.print(cmd, { versions }, () =>
        table(['version', 'time', 'source', 'changes'], versions.map((v) => [v.version, formatTime(v.createdAt), v.source, v.diff.length === 0 ? '-' : v.diff.map((c) => c.path).join(', ')])),
      );
    }));

  config
    .command('diff')
    .description('key-by-key differences between two versions')
    .argument('<a>', 'version', parseInteger(1, Number.MAX_SAFE_INTEGER))
    .argument('<b>', 'version', parseInteger(1, Number.MAX_SAFE_INTEGER))
    .action(ctx.run(async (a: number, b: number, _opts: unknown, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const changes = await engine.config.diff(a, b);
      ctx.print(cmd, { a, b, changes }, () => (changes.length === 0 ? `versions ${a} and ${b} are the same` : table(['key', `v${a}`, `v${b}`], changes.map((c) => [c.path, formatValue(c.old), formatValue(c.new)]))));
    }));

  config
    .command('rollback')
    .description('make version N current again (a running server picks it up within seconds)')
    .argument('<n>', 'version', parseInteger(1, Number.MAX_SAFE_INTEGER))
    .action(ctx.run(async (n: number, _opts: unknown, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const result = await engine.config.rollback(n);
      const changed = result.version.diff.map((c) => c.path);
      ctx.print(cmd, { version: result.version.version, rolledBackTo: n, changes: result.version.diff, liveKeys: result.applied, restartRequired: result.restartRequired }, () =>
        [
          `version ${result.version.version}: rolled back to ${n}${changed.length === 0 ? ' (no change)' : ''}`,
          ...(result.applied.length ? [`applies at run time: ${result.applied.join(', ')}`] : []),
          ...(result.restartRequired.length ? [`needs a restart: ${result.restartRequired.join(', ')}`] : []),
        ].join('\n'),
      );
    }));
}
