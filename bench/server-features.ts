// npm run bench -- server-features [--seconds N] [--rounds N]
// What each of the server's per-request features costs, one at a time: two fastify servers under
// load at once (bench/_server-variant.ts), one autocannon each from this process, so both see the
// same noise from the host. Printed: server CPU time per request of the server without the feature ÷
// that of the server with it, median of the rounds (a copy of the same server reads ~0.98-1.0).
import autocannon from 'autocannon';
import { join } from 'node:path';
import { cpuSeconds, emit, median, numberArg, round, startChild, stopChild } from './_lib.js';

const seconds = numberArg('--seconds', 4);
const rounds = numberArg('--rounds', 5);
const root = new URL('../', import.meta.url).pathname;

// [what is measured, the server with it, the server without it]
const pairs: Array<[string, string, string]> = [
  ['control: the same server twice', '', ''],
  ['logger, child factory (l) => l', 'logger-identity', ''],
  ['logger, child() returns itself', 'logger-self', ''],
  ['request ids (base-36 counter)', 'logger-self,reqid', 'logger-self'],
  ['x-request-id response header', 'logger-self,reqid,reqid-header', 'logger-self,reqid'],
  ['metrics hook, labels per request', 'logger-self,metrics-labels', 'logger-self'],
  ['metrics hook, series bound per route', 'logger-self,metrics-bound', 'logger-self'],
  ['a second onRequest hook', 'logger-self,second-hook', 'logger-self'],
  ['response schema', 'logger-self,schema', 'logger-self'],
];

const servers = new Map<string, { url: string; pid: number; stop: () => Promise<void> }>();
const serverFor = async (features: string): Promise<{ url: string; pid: number }> => {
  let s = servers.get(features);
  if (s === undefined) {
    const { child, match } = await startChild(process.execPath, ['--import', 'tsx', join(root, 'bench/_server-variant.ts'), features], /VARIANT listening on (http:\/\/[\d.:]+)/, { cwd: root });
    s = { url: match[1]!, pid: child.pid!, stop: () => stopChild(child) };
    servers.set(features, s);
  }
  return s;
};

try {
  for (const [what, withIt, without] of pairs) {
    const a = await serverFor(withIt);
    // the control pairs two distinct copies of the same server
    const b = withIt === without ? await serverFor(`${without},`) : await serverFor(without);
    const ratios: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      const cpu0 = [cpuSeconds(a.pid), cpuSeconds(b.pid)];
      const [ra, rb] = await Promise.all([a, b].map((s) => autocannon({ url: `${s.url}/health`, connections: 50, duration: seconds })));
      const perReqA = (cpuSeconds(a.pid) - cpu0[0]!) / ra!.requests.total;
      const perReqB = (cpuSeconds(b.pid) - cpu0[1]!) / rb!.requests.total;
      if (r > 0) ratios.push(perReqB / perReqA); // round 0 warms both up
    }
    emit({ bench: 'server.features', feature: what, with: withIt || 'bare', without: without || 'bare', cpu_ratio: round(median(ratios), 3), min: round(Math.min(...ratios), 3), max: round(Math.max(...ratios), 3), rounds, seconds });
  }
} finally {
  for (const s of servers.values()) await s.stop();
}
