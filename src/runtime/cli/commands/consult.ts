import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ExpertsError } from '../../../capabilities/experts/errors.js';
import type { ConsultationResult, ConsultRequest } from '../../../capabilities/experts/index.js';
import { REQUEST_LIMITS } from '../../../capabilities/experts/service.js';
import type { CliContext } from '../context.js';
import { table } from '../format.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Reads --context FILE: JSON (.json) or YAML (.yaml/.yml) becomes data, anything else is text. */
export async function readContextFile(path: string): Promise<unknown> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ExpertsError('EXPERTS_INVALID_REQUEST', `--context ${path}: not a regular file`, { file: path });
    size = st.size;
  } catch (err) {
    if (err instanceof ExpertsError) throw err;
    throw new ExpertsError('EXPERTS_INVALID_REQUEST', `--context ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path });
  }
  if (size > REQUEST_LIMITS.contextBytes) throw new ExpertsError('EXPERTS_INVALID_REQUEST', `--context ${path}: ${size} bytes, more than ${REQUEST_LIMITS.contextBytes}`, { file: path, limit: REQUEST_LIMITS.contextBytes });
  const text = await readFile(path, 'utf8');
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    if (ext === '.yaml' || ext === '.yml') return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const pos = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new ExpertsError('EXPERTS_INVALID_REQUEST', `--context ${path}${pos ? `:${pos}` : ''}: not valid ${ext.slice(1).toUpperCase()}: ${(err as Error).message.split('\n')[0]}`, { file: path, ...(pos ? { line: pos } : {}) });
  }
  return text;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** The text rendering of a result: answer, votes, recommendations, dissent, experts, degradation. */
export function renderConsultation(r: ConsultationResult): string {
  const out: string[] = [];
  out.push(`answer: ${r.answer ?? '(none)'}   agreement ${pct(r.agreement)}, entropy ${r.entropy.toFixed(2)}, ${r.responded} of ${r.requested} experts answered${r.cached ? ', from the cache' : ''}, ${Math.round(r.durationMs)} ms`);
  if (r.votes.length > 0) {
    out.push('', 'votes:');
    for (const v of r.votes) out.push(`  ${v.answer}  ${pct(v.share)} (${v.experts.join(', ')})`);
  }
  if (r.recommendations.length > 0) {
    out.push('', 'recommendations:');
    for (const g of r.recommendations) out.push(`  ${g.majority ? '*' : '-'} ${g.text}  [${g.supporters.length}/${r.responded}: ${g.supporters.join(', ')}]${g.rules.length ? ` (${g.rules.join(', ')})` : ''}`);
    out.push('  (* supported by a majority of the experts that answered)');
  }
  if (r.dissent.experts.length > 0) out.push('', `dissent: ${r.dissent.experts.map((d) => `${d.name} (${d.answer}, ${d.confidence})`).join('; ')}`);
  if (r.ranking) out.push('', `peer ranking: ${r.ranking.map((p) => `${p.name} ${p.points}`).join(', ')}`);
  out.push('', table(['expert', 'status', 'answer', 'confidence', 'ms', 'note'], r.experts.map((e) => [e.name, e.status, e.answer, e.confidence, Math.round(e.latencyMs), e.error ?? ''])));
  if (r.degraded) out.push('', `degraded: ${r.causes.map((c) => (c.expert ? `${c.expert} ${c.kind}: ${c.reason}` : `${c.kind}: ${c.reason}`)).join('; ')}`);
  out.push('', `id: ${r.id}`);
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('consult')
    .description('ask the circle of experts one question and print their consensus')
    .argument('<question>', 'the question, quoted')
    .option('--choice <answer>', 'an allowed answer (repeat: --choice A --choice B)', collect)
    .option('--context <file>', 'context for the experts: .json / .yaml as data, anything else as text')
    .option('--expert <name>', 'ask only this expert (repeat for several)', collect)
    .option('--review', 'the context is a deployment review (spec, findings, probes, logs): the built-in experts answer too')
    .option('--peer-ranking', 'let the LLM experts rank each other\'s answers (Borda count)')
    .option('--fresh', 'do not answer from the cache')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl consult "Postgres or MySQL for this workload?" --choice postgres --choice mysql --context workload.md\n  $ codectl consult "Should we roll out?" --review --context check-report.json --expert security --expert gpt\n  $ codectl consult "What is the riskiest part?" --json | jq .recommendations\n\nExit codes: 0 answered, 1 no answer (every expert failed, abstained or the quorum was missed), 2 bad input.',
    )
    .action(
      ctx.run(async (question: string, opts: { choice?: string[]; context?: string; expert?: string[]; review?: boolean; peerRanking?: boolean; fresh?: boolean }, cmd: Command) => {
        const request: ConsultRequest = {
          question,
          kind: opts.review ? 'review' : 'question',
          ...(opts.choice ? { choices: opts.choice } : {}),
          ...(opts.context ? { context: await readContextFile(opts.context) } : {}),
          ...(opts.expert ? { experts: opts.expert } : {}),
          ...(opts.peerRanking ? { peerRanking: true } : {}),
          ...(opts.fresh ? { fresh: true } : {}),
        };
        const engine = await ctx.engine(cmd);
        const controller = new AbortController();
        const onSignal = (): void => controller.abort();
        process.once('SIGINT', onSignal);
        try {
          const result = await engine.experts.consult(request, { signal: controller.signal });
          ctx.print(cmd, result, () => renderConsultation(result));
          if (result.degraded && !ctx.globals(cmd).json) ctx.stderr.write(`codectl: the consultation is degraded (${result.causes.length} cause${result.causes.length === 1 ? '' : 's'})\n`);
          if (result.experts.length > 0 && result.experts.every((e) => e.status === 'abstain')) {
            ctx.stderr.write('codectl: every expert abstained: the built-in experts only review deployments (--review with a check report); configure experts.providers for other questions\n');
          }
          return result.answer === null || !result.quorum ? 1 : 0;
        } finally {
          process.off('SIGINT', onSignal);
        }
      }),
    );
}
