import type { Command } from 'commander';
import { listRules, validateSpecFile, type Finding, type SpecFormat } from '../../../capabilities/spec/index.js';
import type { CliContext } from '../context.js';
import { table } from '../format.js';

/** `file:line:column severity rule message (path)`: one line per finding, as compilers print them. */
export function renderFindings(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule}: ${f.message}${f.path ? ` (${f.path})` : ''}`);
}

export function register(program: Command, ctx: CliContext): void {
  const spec = program.command('spec').description('deployment specs: validate, list the rules');

  spec
    .command('validate')
    .description('parse a spec (YAML, JSON or TOML) and check every rule; every finding with its line and column')
    .argument('<file>', 'the spec file (.yaml, .yml, .json, .toml; other names are sniffed)')
    .option('--format <format>', 'yaml, json or toml (default: from the extension, else sniffed)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl spec validate deploy.yaml\n  $ codectl spec validate deploy.toml --json | jq \'.findings[] | select(.severity == "error")\'\n\nExit codes: 0 valid (warnings allowed), 1 an error finding, 2 the file cannot be read.',
    )
    .action(ctx.run(async (file: string, opts: { format?: string }, cmd: Command) => {
      if (opts.format !== undefined && !['yaml', 'json', 'toml'].includes(opts.format)) {
        ctx.stderr.write(`codectl: --format must be yaml, json or toml [USAGE_INVALID]\n`);
        return 2;
      }
      const r = await validateSpecFile(file, opts.format ? { format: opts.format as SpecFormat } : {});
      const errors = r.findings.filter((f) => f.severity === 'error').length;
      const warnings = r.findings.length - errors;
      ctx.print(cmd, { valid: r.valid, findings: r.findings }, () =>
        [
          ...renderFindings(r.findings),
          r.valid
            ? `${file}: valid, ${r.spec?.services.length ?? 0} service${r.spec?.services.length === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`
            : `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
        ].join('\n'),
      );
      return r.valid ? 0 : 1;
    }));

  spec
    .command('rules')
    .description('list the rules a finding can carry')
    .action(ctx.run(async (_opts: unknown, cmd: Command) => {
      const rules = listRules();
      ctx.print(cmd, { rules }, () => table(['RULE', 'SEVERITY', 'MEANING'], rules.map((r) => [r.rule, r.severity, r.description])));
    }));
}
