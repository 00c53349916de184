/**
 * npm run bench -- spec
 *
 * Parse + validate of a valid 50-service YAML spec (test/fixtures/specs/fifty-services.yaml), in
 * documents per second, beside `js-yaml` and `yaml` parsing the same text alone. All three run in
 * the same process, alternating in short batches; medians reported (see race()). Ours parses with
 * YAML 1.2's core schema plus merge keys (no timestamps): a second js-yaml line uses that schema too,
 * so the cost of validation shows on its own. A last figure
 * times a spec with ten errors, where ours re-parses with `yaml` to locate the findings.
 */
import { readFileSync } from 'node:fs';
import type * as JsYaml from 'js-yaml';
import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';
import { validateSpec } from '../src/capabilities/spec/index.js';
import { specYamlSchema } from '../src/capabilities/spec/parse.js';
// The same js-yaml build (CommonJS) the engine loads, so the peer and ours share one copy.
const jsyaml = createRequire(import.meta.url)('js-yaml') as typeof JsYaml;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 40);

const valid = readFileSync(new URL('../test/fixtures/specs/fifty-services.yaml', import.meta.url), 'utf8');
const invalid = readFileSync(new URL('../test/fixtures/specs/ten-errors.yaml', import.meta.url), 'utf8');

// Sanity: the workload is what it claims, and every contender really parses it.
const check = validateSpec(valid, { file: 'fifty-services.yaml' });
if (!check.valid || check.spec?.services.length !== 50) throw new Error('the 50-service fixture must be valid');
if (validateSpec(invalid, { file: 'ten-errors.yaml' }).findings.filter((f) => f.severity === 'error').length < 10) throw new Error('ten-errors fixture lost errors');

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type Contender = { name: string; fn: () => unknown };

/**
 * The machine is shared and its load changes by the second, so contenders alternate in short
 * batches (~BATCH_MS each), in a rotating order: each round compares them under the same load.
 * Reported: ops/s from the median round of each, and the median of the per-round ratios.
 */
function race(contenders: Contender[]): { ops: Map<string, number>; ratio: (a: string, b: string) => number } {
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  // Warm-up, and a batch size per contender that takes about BATCH_MS.
  const sizes = new Map<string, number>();
  for (const c of contenders) {
    for (let i = 0; i < 30; i++) c.fn();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < BATCH_MS) {
      c.fn();
      n++;
    }
    sizes.set(c.name, Math.max(1, n));
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!);
    for (const c of order) {
      const n = sizes.get(c.name)!;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) if (c.fn()) sink++;
      perRound.get(c.name)!.push(n / ((performance.now() - t0) / 1000));
    }
  }
  const ops = new Map([...perRound].map(([k, v]) => [k, median(v)]));
  const ratio = (a: string, b: string): number => median(perRound.get(a)!.map((x, i) => x / perRound.get(b)![i]!));
  return { ops, ratio };
}

const r1 = race([
  { name: 'ours', fn: () => validateSpec(valid, { file: 'fifty-services.yaml' }).valid },
  { name: 'js-yaml', fn: () => jsyaml.loadAll(valid) },
  { name: 'js-yaml-core', fn: () => jsyaml.loadAll(valid, undefined, { schema: specYamlSchema() }) },
  { name: 'yaml', fn: () => parseAllDocuments(valid) },
]);
// js-yaml as a user would call it (default schema); js-yaml with the schema ours parses with (YAML 1.2
// core + merge keys), which isolates the cost of validating; `yaml`, the full-featured parser.
for (const [peer, label] of [['js-yaml', 'js-yaml'], ['js-yaml-core', 'js-yaml (core schema + merge, as ours)'], ['yaml', 'yaml']] as const) {
  console.log(JSON.stringify({ bench: 'spec.parse_validate.valid_50_services', ours_ops: Math.round(r1.ops.get('ours')!), peer: label, peer_ops: Math.round(r1.ops.get(peer)!), ratio: Number(r1.ratio('ours', peer).toFixed(3)) }));
}

const r2 = race([
  { name: 'ours', fn: () => validateSpec(invalid, { file: 'ten-errors.yaml' }).findings.length },
  { name: 'yaml', fn: () => parseAllDocuments(invalid) },
]);
console.log(JSON.stringify({ bench: 'spec.parse_validate.ten_errors', ours_ops: Math.round(r2.ops.get('ours')!), peer: 'yaml', peer_ops: Math.round(r2.ops.get('yaml')!), ratio: Number(r2.ratio('ours', 'yaml').toFixed(3)) }));
if (sink < 0) console.log(sink);
