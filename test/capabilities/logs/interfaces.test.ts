// The log analyzer through the engine: POST /v1/logs/analyze (real engine, SQLite store, roots from
// the config, the kernels.wasm flag) and `codectl logs` as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../src/runtime/engine.js';
import { buildApp } from '../../../src/runtime/server/app.js';
import { renderLogReport } from '../../../src/runtime/cli/commands/logs.js';
import { CODECTL_MAIN, TSX_LOADER, childEnv, runCodectl } from '../../helpers/cli.js';
import { tempWorkdir, testEngine } from '../../helpers/engine.js';
import { ensureKernelsBuilt } from '../../platform/kernels/build.js';
import { writeSyntheticLog } from './synthetic.js';
import type { SynthTruth } from './synthetic.js';

const w = tempWorkdir('code-logs-');
let engine: Engine;
let app: FastifyInstance;
let truth: SynthTruth;
let logFile: string;

before(async () => {
  await ensureKernelsBuilt();
  mkdirSync(join(w.dir, 'var', 'app'), { recursive: true });
  logFile = join(w.dir, 'var', 'app', 'app.log');
  truth = writeSyntheticLog(logFile, { lines: 5000 }, { seed: 3, formats: { iso: 2, json: 1, access: 1 } });
  writeFileSync(join(w.dir, 'secret.log'), '2024-03-05T00:00:00Z ERROR outside the root\n');
  engine = await testEngine(w.dir, { overrides: { logs: { roots: ['var'], top: 3 } } });
  app = await buildApp({ engine, host: '127.0.0.1' });
});
after(async () => {
  await app.close();
  await engine.close();
  w.cleanup();
});

const analyze = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/logs/analyze', payload: payload as Record<string, unknown> });

describe('POST /v1/logs/analyze', () => {
  it('reads a file under the configured root (relative to it), on WASM kernels by default', async () => {
    const res = await analyze({ paths: ['app/*.log'] });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.deepEqual(r.levels, { ...truth.levels, unknown: 0 });
    assert.equal(r.lines, truth.lines);
    assert.equal(r.top.length, 3, 'logs.top from the config');
    assert.equal(r.kernel, 'wasm');
    assert.equal(r.hourly.reduce((s: number, h: { lines: number }) => s + h.lines, 0), truth.lines);
    assert.equal(r.errorRate.errors, truth.levels.error + truth.levels.fatal);
  });

  it('the kernels.wasm flag switches the line splitter at run time; the counts do not change', async () => {
    await engine.flags.set('kernels.wasm', false, 'test');
    try {
      const res = await analyze({ paths: ['app/app.log'], mode: 'levels', top: 1 });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().kernel, 'js');
      assert.deepEqual(res.json().levels, { ...truth.levels, unknown: 0 });
      assert.equal(engine.kernels.active(), 'js');
    } finally {
      await engine.flags.set('kernels.wasm', true, 'test');
    }
    assert.equal(engine.kernels.active(), 'wasm');
    const snap = engine.kernels.monitor.snapshot();
    assert.ok(snap.kernels.byteOffsets.wasm.calls > 0 && snap.kernels.byteOffsets.js.calls > 0);
  });

  it('a path outside the roots is refused with 403 LOGS_PATH_DENIED', async () => {
    for (const paths of [['../secret.log'], [join(w.dir, 'secret.log')], [join(w.dir, '*.log')], ['-']]) {
      const res = await analyze({ paths });
      assert.equal(res.statusCode, 403, `${paths}: ${res.body}`);
      assert.equal(res.json().code, 'LOGS_PATH_DENIED');
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
    }
  });

  it('missing files and bad bodies get clear problems', async () => {
    const missing = await analyze({ paths: ['app/nope.log'] });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'LOGS_FILE_NOT_FOUND');
    const bad = await analyze({ paths: [] });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'REQUEST_INVALID');
    const extra = await analyze({ paths: ['app/app.log'], evil: true });
    assert.equal(extra.statusCode, 400);
  });

  it('with no roots configured (the default) every path is refused', async () => {
    const other = await testEngine(join(w.dir, 'var'));
    const otherApp = await buildApp({ engine: other, host: '127.0.0.1' });
    try {
      const res = await otherApp.inject({ method: 'POST', url: '/v1/logs/analyze', payload: { paths: ['app/app.log'] } });
      assert.equal(res.statusCode, 403);
      assert.match(res.json().detail, /no log roots/);
    } finally {
      await otherApp.close();
      await other.close();
    }
  });
});

describe('codectl logs', () => {
  it('--json prints the report; the text rendering summarises it', async () => {
    const json = await runCodectl(['logs', logFile, '--json', '--top', '2'], { cwd: w.dir });
    assert.equal(json.code, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    assert.deepEqual(r.levels, { ...truth.levels, unknown: 0 });
    assert.equal(r.top.length, 2);
    // the text rendering of the same report (in-process: one child less)
    const text = renderLogReport(r);
    assert.match(text, /1 file, [\d,]+ bytes, 5,000 lines/);
    assert.match(text, new RegExp(`error\\s+${truth.levels.error.toLocaleString('en-US')}`));
    assert.match(text, /HOURLY/);
    assert.match(text, /TOP MESSAGES, WARN AND ABOVE/);
  });

  it('reads stdin with -, and a missing file exits 2 with one line', async () => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CODECTL_MAIN, 'logs', '-', '--levels', '--json'], { cwd: w.dir, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stdin.end('2024-03-05T00:00:00Z ERROR a\n2024-03-05T00:00:01Z WARN b\nINFO c\n');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    const r = JSON.parse(out);
    assert.equal(r.levels.error, 1);
    assert.equal(r.levels.warn, 1);
    assert.equal(r.levels.info, 1);
    assert.equal(r.files[0].path, '-');

    const missing = await runCodectl(['logs', 'nope.log'], { cwd: w.dir });
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /no such file: nope\.log \[LOGS_FILE_NOT_FOUND\]/);
  });
});
