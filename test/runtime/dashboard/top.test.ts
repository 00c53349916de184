import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { renderTop, type TopSample } from '../../../src/runtime/cli/commands/top.js';
import { startServer } from '../../../src/runtime/server/start.js';
import { CODECTL_MAIN, TSX_LOADER, childEnv, runCodectl } from '../../helpers/cli.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';

const ESC = String.fromCharCode(27);
const ansi = (pattern: string, flags = ''): RegExp => new RegExp(pattern.replaceAll('ESC', ESC), flags);

test('codectl top against a running server: --json sample, NDJSON with --count, one text frame when piped, in-place refresh on a TTY, clear errors', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const engine = await testEngine(w.dir, { overrides: { alerts: { intervalMs: 100 } } });
  const server = await startServer(engine, { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.stop();
    await engine.close();
  });
  for (let i = 0; i < 5; i++) await (await fetch(`${server.url}/health`)).text();
  const url = server.url;

  const [json, ndjson, text, down, tty] = await Promise.all([
    runCodectl(['top', '--json', '--url', url], { cwd: w.dir }),
    runCodectl(['top', '--json', '--count', '2', '--interval', '300', '--url', url], { cwd: w.dir }),
    runCodectl(['top', '--url', url], { cwd: w.dir }),
    runCodectl(['top', '--url', 'http://127.0.0.1:1'], { cwd: w.dir }),
    // `script` gives the child a pseudo-terminal, so stdout.isTTY is true as in a real terminal.
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const cmd = [process.execPath, '--import', TSX_LOADER, CODECTL_MAIN, 'top', '--count', '2', '--interval', '300', '--url', url].join(' ');
      const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: w.dir, env: childEnv({ TERM: 'xterm' }), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      child.on('exit', (code) => resolve({ code, out }));
    }),
  ]);

  assert.equal(json.code, 0, json.stderr);
  const sample = JSON.parse(json.stdout) as TopSample;
  assert.equal(sample.url, url);
  assert.ok(sample.kpis.some((k) => k.name === 'http.latency.p95' && k.thresholds?.critical === 150));
  assert.ok(Array.isArray(sample.alerts));

  assert.equal(ndjson.code, 0, ndjson.stderr);
  const lines = ndjson.stdout.trim().split('\n').map((l) => JSON.parse(l) as TopSample);
  assert.equal(lines.length, 2);
  assert.ok(lines[1]!.at > lines[0]!.at, 'a fresh sample each time');

  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^CODE top · http:\/\/127\.0\.0\.1:\d+ · /);
  assert.match(text.stdout, /^KPI +VALUE +STATE +THRESHOLDS +NAME$/m);
  assert.match(text.stdout, /^Latency P95 .* warn > 120, crit > 150 +http\.latency\.p95$/m);
  assert.ok(!text.stdout.includes(ESC), 'no escape codes when piped');

  assert.equal(down.code, 1);
  assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
  assert.match(down.stderr, /^codectl: cannot read KPIs from http:\/\/127\.0\.0\.1:1 \(is `codectl serve` running there\?\).*\[NET_/);

  assert.equal(tty.code, 0, tty.out);
  assert.equal(tty.out.split(`${ESC}[H`).length - 1, 2, 'two frames drawn from the home position');
  assert.ok(tty.out.includes(`${ESC}[?25l`) && tty.out.includes(`${ESC}[?25h`), 'cursor hidden while drawing, restored at the end');
  assert.match(tty.out, ansi('ESC\\[3[123]m(ok|warning|critical)ESC\\[0m'), 'states in colour');
});

test('renderTop: columns stay aligned with colours on', () => {
  const s: TopSample = {
    url: 'http://x',
    at: 0,
    kpis: [
      { name: 'a.b', title: 'A', unit: 'ms', group: 'g', value: 12.345, state: 'warning', thresholds: { comparison: '>', warning: 10 } },
      { name: 'c.d', title: 'Cee', unit: '%', group: 'g', value: null, state: 'unknown', thresholds: null },
    ],
    alerts: [{ alertId: '1', rule: 'r', kind: 'threshold', kpi: 'a.b', severity: 'warning', state: 'firing', value: 12.3, threshold: 10, comparison: '>', activeSince: 0, firingSince: 0, message: 'warning r: a.b = 12.3' }],
  };
  const plain = renderTop(s).split('\n');
  const colour = renderTop(s, true).split('\n').map((l) => l.replace(ansi('ESC\\[[0-9;]*m', 'g'), ''));
  assert.deepEqual(colour, plain);
  assert.match(plain[4]!, /^A +12\.3 ms +warning +warn > 10 +a\.b$/);
  assert.match(plain[5]!, /^Cee +— +unknown/);
  assert.match(plain.at(-1)!, /● warning +r: warning r: a\.b = 12\.3/);
});
