import type { Command } from 'commander';
import type { ConsultationResult } from '../../../capabilities/experts/index.js';
import { REVIEW_CHOICES } from '../../../capabilities/experts/index.js';
import { validateSpecFile, type Finding } from '../../../capabilities/spec/index.js';
import type { CliContext } from '../context.js';
import { renderConsultation } from './consult.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export const REVIEW_QUESTION = 'Should this deployment go out as specified? Answer approve or changes-requested.';

/**
 * The check part of a review: what the experts are shown. Today the spec's validation (normalised spec
 * and findings); the probe results and log analysis join the context when the check flow provides them.
 */
async function checkForReview(file: string): Promise<{ valid: boolean; findings: Finding[]; context: Record<string, unknown> }> {
  const report = await validateSpecFile(file);
  return { valid: report.valid, findings: report.findings, context: { spec: report.spec ?? null, findings: report.findings } };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('review')
    .description('check a deployment spec, then ask the circle of experts to approve it or request changes')
    .argument('<spec>', 'deployment spec file (YAML, JSON or TOML)')
    .option('--expert <name>', 'ask only this expert (repeat for several)', collect)
    .option('--peer-ranking', 'let the LLM experts rank each other\'s answers (Borda count)')
    .option('--fresh', 'do not answer from the cache')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl review deploy.yaml\n  $ codectl review deploy.yaml --expert security --expert reliability --json\n\nExit codes: 0 approved, 1 changes requested (or no answer), 2 bad input.',
    )
    .action(
      ctx.run(async (file: string, opts: { expert?: string[]; peerRanking?: boolean; fresh?: boolean }, cmd: Command) => {
        const check = await checkForReview(file);
        const engine = await ctx.engine(cmd);
        const controller = new AbortController();
        const onSignal = (): void => controller.abort();
        process.once('SIGINT', onSignal);
        let result: ConsultationResult;
        try {
          result = await engine.experts.consult(
            {
              kind: 'review',
              question: REVIEW_QUESTION,
              choices: [...REVIEW_CHOICES],
              context: check.context,
              ...(opts.expert ? { experts: opts.expert } : {}),
              ...(opts.peerRanking ? { peerRanking: true } : {}),
              ...(opts.fresh ? { fresh: true } : {}),
            },
            { signal: controller.signal },
          );
        } finally {
          process.off('SIGINT', onSignal);
        }
        ctx.print(cmd, { spec: file, valid: check.valid, findings: check.findings, consultation: result }, () => {
          const lines = [`${file}: ${check.valid ? 'valid' : 'invalid'}, ${check.findings.length} finding${check.findings.length === 1 ? '' : 's'}`];
          for (const f of check.findings.slice(0, 20)) lines.push(`  ${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule} ${f.message}`);
          if (check.findings.length > 20) lines.push(`  ... ${check.findings.length - 20} more (--json lists them all)`);
          return `${lines.join('\n')}\n\n${renderConsultation(result)}`;
        });
        return result.answer === 'approve' && result.quorum ? 0 : 1;
      }),
    );
}
