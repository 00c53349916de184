// codectl spec validate / probe / check: output shapes, exit codes, the progress bar only on a TTY.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { closedPort, listen, type Listener } from '../../capabilities/probe/helpers.js';
import { runCodectl } from '../../helpers/cli.js';
import { tempWorkdir } from '../../helpers/engine.js';
import { runCliInProcess } from '../../helpers/cli.js';

const w = tempWorkdir('code-cli-check-');
const fixtures = new URL('../../fixtures/specs/', import.meta.url);
let tcp: Listener;
before(async () => {
  tcp = await listen('127.0.0.1');
});
after(async () => {
  await tcp.close();
  w.cleanup();
});

const cli = (args: string[], opts: { tty?: boolean } = {}) => runCliInProcess(w.dir, args, { env: {}, ...opts });

test('spec validate: 0 valid, 1 invalid, 2 unreadable; --json is { valid, findings }', async () => {
  const valid = await cli(['spec', 'validate', new URL('fifty-services.yaml', fixtures).pathname]);
  assert.equal(valid.code, 0, valid.err);
  assert.match(valid.out, /valid, 50 services/);

  const ten = await cli(['spec', 'validate', new URL('ten-errors.yaml', fixtures).pathname, '--json']);
  assert.equal(ten.code, 1);
  const j = JSON.parse(ten.out);
  assert.deepEqual(Object.keys(j).sort(), ['findings', 'valid']);
  assert.equal(j.valid, false);
  assert.equal(j.findings.filter((f: { severity: string }) => f.severity === 'error').length, 10);
  assert.deepEqual(Object.keys(j.findings[0]).sort(), ['column', 'file', 'line', 'message', 'path', 'rule', 'severity']);

  const text = await cli(['spec', 'validate', new URL('ten-errors.yaml', fixtures).pathname]);
  assert.match(text.out, /ten-errors\.yaml:9:10 error resources\.cpu-min: cpu 50m is below the minimum of 100m \(services\.web\.cpu\)/);

  const missing = await cli(['spec', 'validate', 'nope.yaml']);
  assert.equal(missing.code, 2);
  assert.equal(missing.err.trim().split('\n').length, 1);
  assert.match(missing.err, /nope\.yaml: cannot read the spec \(no such file\) \[SPEC_UNREADABLE\]/);
});

test('probe: JSON results and summary; --open; a denied target exits 2 with one line', async () => {
  const closed = await closedPort('127.0.0.1');
  const r = await cli(['probe', '127.0.0.1', '-p', `${tcp.port},${closed}`, '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j).sort(), ['results', 'summary']);
  assert.deepEqual(j.results.map((x: { port: number; state: string }) => [x.port, x.state]).sort(), [[tcp.port, 'open'], [closed, 'closed']].sort());
  assert.deepEqual(Object.keys(j.results[0]).sort(), ['address', 'host', 'latencyMs', 'port', 'service', 'state']);
  for (const k of ['open', 'closed', 'filtered', 'durationMs']) assert.equal(typeof j.summary[k], 'number');

  const open = await cli(['probe', '127.0.0.1', '-p', `${tcp.port},${closed}`, '--open', '--json', '--concurrency', '2', '--timeout', '500']);
  assert.deepEqual(JSON.parse(open.out).results.map((x: { port: number }) => x.port), [tcp.port]);

  const denied = await cli(['probe', '10.0.0.1', '-p', '80']);
  assert.equal(denied.code, 2);
  assert.equal(denied.out, '');
  assert.equal(denied.err.trim().split('\n').length, 1);
  assert.match(denied.err, /not in the probe allowlist.*\[PROBE_TARGET_DENIED\]/);

  const bad = await cli(['probe', '127.0.0.1', '--concurrency', '0']);
  assert.equal(bad.code, 2);
});

test('probe: a progress bar on a TTY, nothing extra when piped', async () => {
  const piped = await cli(['probe', '127.0.0.1', '-p', '42000-42999', '--open']);
  assert.equal(piped.err, '');
  const tty = await cli(['probe', '127.0.0.1', '-p', '42000-42999', '--open'], { tty: true });
  assert.match(tty.err, /\[#+\.*\] +\d+% \d+\/1000/);
  assert.match(tty.err, /1000\/1000/);
});

test('check: exit 0 when all is up, 1 when a declared service is down; JSON report', async () => {
  const up = w.write('up.yaml', `services:\n  web:\n    host: 127.0.0.1\n    ports: [${tcp.port}]\n    health: { tcp: ${tcp.port} }\n`);
  const r = await cli(['check', up]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /web +127\.0\.0\.1 +UP/);
  assert.match(r.out, /^OK: 1 up, 0 down/m);

  const closed = await closedPort('127.0.0.1');
  const down = w.write('down.yaml', `services:\n  web:\n    host: 127.0.0.1\n    ports: [${closed}]\n`);
  const d = await cli(['check', down, '--json']);
  assert.equal(d.code, 1);
  const j = JSON.parse(d.out);
  assert.equal(j.ok, false);
  assert.equal(j.services[0].status, 'down');

  const missing = await cli(['check', 'missing.yaml']);
  assert.equal(missing.code, 2);
});

test('check the example spec with the real binary: logs read from the spec path', async () => {
  // The example declares CODE's own API on 8080; point it at a listener of ours instead, and run
  // from a copy so the relative log path resolves.
  const example = readFileSync(new URL('../../../examples/deploy.yaml', import.meta.url), 'utf8');
  const log = readFileSync(new URL('../../../examples/logs/api.log', import.meta.url), 'utf8');
  w.write('api.log', log);
  const spec = w.write('deploy.yaml', example.replaceAll('8080', String(tcp.port)).replaceAll('examples/logs/api.log', 'api.log').replace(/health:\n\s+http: \/health\n\s+port: \d+/, `health: { tcp: ${tcp.port} }`));
  const r = await runCodectl(['check', spec, '--json'], { cwd: w.dir });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.services[0].status, 'up');
  assert.deepEqual([j.services[0].logs.lines, j.services[0].logs.errors, j.services[0].logs.warnings], [7, 2, 1], JSON.stringify(j.services[0].logs));
});
