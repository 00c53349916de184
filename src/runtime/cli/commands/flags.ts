import type { Command } from 'commander';
import { parseInteger, type CliContext } from '../context.js';
import { formatTime, table } from '../format.js';

export function register(program: Command, ctx: CliContext): void {
  const flags = program
    .command('flags')
    .description('list and switch feature flags (each optimization has one)')
    .addHelpText('after', '\nExamples:\n  $ codectl flags list\n  $ codectl flags disable cache.compression\n  $ codectl flags audit --json');

  flags
    .command('list')
    .description('every flag, its state, default and fallback')
    .action(ctx.run(async (_opts: unknown, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const list = engine.flags.list();
      ctx.print(cmd, { flags: list }, () => table(['flag', 'enabled', 'default', 'description'], list.map((f) => [f.name, f.enabled ? 'on' : 'off', f.default ? 'on' : 'off', f.description])));
    }));

  for (const [verb, value] of [['enable', true], ['disable', false]] as const) {
    flags
      .command(verb)
      .description(`turn a flag ${value ? 'on' : 'off'} (persists; a running server applies it within seconds)`)
      .argument('<name>', 'flag name, e.g. cache.compression')
      .action(ctx.run(async (name: string, _opts: unknown, cmd: Command) => {
        const engine = await ctx.engine(cmd);
        const change = await engine.flags.set(name, value, 'cli');
        ctx.print(cmd, change, () => `${name}: ${change.old ? 'on' : 'off'} → ${change.new ? 'on' : 'off'}`);
      }));
  }

  flags
    .command('audit')
    .description('who changed which flag, when')
    .option('--name <flag>', 'only this flag')
    .option('--limit <n>', 'how many', parseInteger(1, 1000), 50)
    .action(ctx.run(async (opts: { name?: string; limit: number }, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const entries = await engine.flags.audit(opts);
      ctx.print(cmd, { entries }, () => table(['time', 'flag', 'change', 'by'], entries.map((e) => [formatTime(e.at), e.name, `${e.old ? 'on' : 'off'} → ${e.new ? 'on' : 'off'}`, e.actor])));
    }));
}
