import type { Command } from 'commander';
import type { ConsultationResult } from '../../../capabilities/experts/index.js';
import { REVIEW_CHOICES } from '../../../capabilities/experts/index.js';
import { reviewContext } from '../../../capabilities/experts/review.js';
import { readSpecFile, validateSpec } from '../../../capabilities/spec/index.js';
import type { CliContext } from '../context.js';
import { renderCheck } from './check.js';
import { renderConsultation } from './consult.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export const REVIEW_QUESTION = 'Should this deployment go out as specified? Answer approve or changes-requested.';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('review')
    .description('check a deployment spec, then ask the circle of experts to approve it or request changes')
    .argument('<spec>', 'deployment spec file (YAML, JSON or TOML)')
    .option('--expert <name>', 'ask only this expert (repeat for several)', collect)
    .option('--no-logs', 'do not read the log files the spec declares')
    .option('--peer-ranking', 'let the LLM experts rank each other\'s answers (Borda count)')
    .option('--fresh', 'do not answer from the cache')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl review deploy.yaml\n  $ codectl review deploy.yaml --expert security --expert reliability --json\n\nThe check (codectl check) runs first: spec findings, probes, health checks and logs are what the experts review.\nExit codes: 0 approved, 1 changes requested (or no answer), 2 bad input.',
    )
    .action(
      ctx.run(async (file: string, opts: { expert?: string[]; logs: boolean; peerRanking?: boolean; fresh?: boolean }, cmd: Command) => {
        const text = await readSpecFile(file);
        const engine = await ctx.engine(cmd);
        const check = await engine.checks.check(
          { text, file },
          // Like codectl check: the CLI reads the log paths its user's spec names, wherever they are.
          { logs: opts.logs, analyzeLogs: (paths, o) => engine.logs.analyze(paths, o.signal ? { signal: o.signal } : {}) },
        );
        const context = reviewContext(check, validateSpec(text, { file }).spec);
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
              context,
              ...(opts.expert ? { experts: opts.expert } : {}),
              ...(opts.peerRanking ? { peerRanking: true } : {}),
              ...(opts.fresh ? { fresh: true } : {}),
            },
            { signal: controller.signal },
          );
        } finally {
          process.off('SIGINT', onSignal);
        }
        ctx.print(cmd, { check, consultation: result }, () => `${renderCheck(check)}\n\n${renderConsultation(result)}`);
        return result.answer === 'approve' && result.quorum ? 0 : 1;
      }),
    );
}
