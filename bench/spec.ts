/**
 * npm run bench -- spec
 *
 * Parse + validate of a valid 50-service YAML spec (test/fixtures/specs/fifty-services.yaml), in
 * documents per second, beside `js-yaml` and `yaml` parsing the same text alone. All three run in
 * the same process, alternating, several rounds; the median round is reported. A second figure
 * times a spec with ten errors, where ours re-parses with `yaml` to locate the findings.
 */
import { readFileSync } from 'node:fs';
import jsyaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { validateSpec } from '../src/capabilities/spec/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 250);

const valid = readFileSync(new URL('../test/fixtures/specs/fifty-services.yaml', import.meta.url), 'utf8');
const invalid = readFileSync(new URL('../test/fixtures/specs/ten-errors.yaml', import.meta.url), 'utf8');

// Sanity: the workload is what it claims, and every contender really parses it.
const check = validateSpec(valid, { file: 'fifty-services.yaml' });
if (!check.valid || check.spec?.services.length !== 50) throw new Error('the 50-service fixture must be valid');
if (validateSpec(invalid, { file: 'ten-errors.yaml' }).findings.filter((f) => f.severity === 'error').length < 10) throw new Error('ten-errors fixture lost errors');

let sink = 0;
function rate(fn: () => unknown): number {
  const end = performance.now() + ROUND_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    const r = fn();
    if (r) sink++;
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type Contender = { name: string; fn: () => unknown };
function race(contenders: Contender[]): Map<string, number> {
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) for (let i = 0; i < 50; i++) c.fn(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      (globalThis as { gc?: () => void }).gc?.();
      rates.get(c.name)!.push(rate(c.fn));
    }
  }
  return new Map([...rates].map(([k, v]) => [k, median(v)]));
}

const r1 = race([
  { name: 'ours', fn: () => validateSpec(valid, { file: 'fifty-services.yaml' }).valid },
  { name: 'js-yaml', fn: () => jsyaml.loadAll(valid) },
  { name: 'yaml', fn: () => parseAllDocuments(valid) },
]);
const ours = r1.get('ours')!;
for (const peer of ['js-yaml', 'yaml']) {
  const p = r1.get(peer)!;
  console.log(JSON.stringify({ bench: 'spec.parse_validate.valid_50_services', ours_ops: Math.round(ours), peer, peer_ops: Math.round(p), ratio: Number((ours / p).toFixed(3)) }));
}

const r2 = race([
  { name: 'ours', fn: () => validateSpec(invalid, { file: 'ten-errors.yaml' }).findings.length },
  { name: 'yaml', fn: () => parseAllDocuments(invalid) },
]);
console.log(JSON.stringify({ bench: 'spec.parse_validate.ten_errors', ours_ops: Math.round(r2.get('ours')!), peer: 'yaml', peer_ops: Math.round(r2.get('yaml')!), ratio: Number((r2.get('ours')! / r2.get('yaml')!).toFixed(3)) }));
if (sink < 0) console.log(sink);
