import type { Command } from 'commander';
import type { CheckReport } from '../../../capabilities/check/index.js';
import { readSpecFile } from '../../../capabilities/spec/index.js';
import type { CliContext } from '../context.js';
import { table } from '../format.js';
import { renderFindings } from './spec.js';

export function renderCheck(r: CheckReport): string {
  const out: string[] = [];
  if (r.services.length > 0) {
    out.push(table(['SERVICE', 'HOST', 'STATUS', 'MS', 'DETAIL'], r.services.map((s) => [
      s.name,
      s.host,
      s.status.toUpperCase(),
      s.latencyMs === null ? '' : s.latencyMs.toFixed(1),
      [s.reason, s.logs ? ('error' in s.logs ? `logs: ${s.logs.error}` : `logs: ${s.logs.errors} errors, ${s.logs.warnings} warning${s.logs.warnings === 1 ? '' : 's'} in ${s.logs.lines} lines`) : ''].filter(Boolean).join('; '),
    ])));
  }
  if (r.findings.length > 0) out.push('', ...renderFindings(r.findings));
  const s = r.summary;
  out.push('', `${r.ok ? 'OK' : 'FAILED'}: ${s.up} up, ${s.down} down, ${s.degraded} degraded, ${s.unknown} unknown; ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'} (${Math.round(r.durationMs)} ms, check ${r.id})`);
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('validate a spec, probe every declared port and health check, read its logs: each service up, down or degraded')
    .argument('<spec>', 'the spec file (YAML, JSON or TOML)')
    .option('--no-logs', 'do not read the log files the spec declares')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl check examples/deploy.yaml\n  $ codectl check deploy.toml --json | jq \'.services[] | select(.status != "up")\'\n\nThe report is saved in the history (GET /v1/checks). Exit codes: 0 ok, 1 an error finding or a\ndeclared service down, 2 the file cannot be read.',
    )
    .action(ctx.run(async (file: string, opts: { logs: boolean }, cmd: Command) => {
      const text = await readSpecFile(file);
      const engine = await ctx.engine(cmd);
      const report = await engine.checks.check(
        { text, file },
        // The CLI reads the log paths its user's spec names, wherever they are (the API only reads logs.roots).
        { logs: opts.logs, analyzeLogs: (paths, o) => engine.logs.analyze(paths, o.signal ? { signal: o.signal } : {}) },
      );
      ctx.print(cmd, report, () => renderCheck(report));
      return report.ok ? 0 : 1;
    }));
}
