import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { analyzeLogs } from '../../../src/capabilities/logs/index.js';
import type { AnalyzeOptions, LogReport } from '../../../src/capabilities/logs/index.js';
import { hasCode } from '../../../src/platform/errors.js';
import { createKernels } from '../../../src/platform/kernels/index.js';
import type { Kernels } from '../../../src/platform/kernels/index.js';
import { ensureKernelsBuilt } from '../../platform/kernels/build.js';
import { writeSyntheticLog } from './synthetic.js';
import type { SynthTruth } from './synthetic.js';

let dir: string;
let wasm: Kernels;
let js: Kernels;

before(async () => {
  await ensureKernelsBuilt();
  dir = mkdtempSync(join(tmpdir(), 'logs-test-'));
  wasm = createKernels({ useWasm: () => true });
  js = createKernels({ useWasm: () => false });
  assert.equal(wasm.active(), 'wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const grepCount = (pattern: string, file: string): number => {
  try {
    return Number(execFileSync('grep', ['-c', pattern, file], { encoding: 'utf8' }).trim());
  } catch (err) {
    // grep exits 1 when nothing matches, printing 0
    const out = (err as { stdout?: string }).stdout;
    if (out !== undefined && out.trim() === '0') return 0;
    throw err;
  }
};

/** The report without what legitimately differs between runs. */
const stable = (r: LogReport): Omit<LogReport, 'durationMs' | 'kernel'> => {
  const { durationMs: _d, kernel: _k, ...rest } = r;
  return rest;
};

/** Independent of the analyzer: the masking rule written as a regular expression. */
const maskTemplate = (t: string): string =>
  t.replace(/[0-9A-Za-z_\-\u0080-\uffff#%@]+/g, (w) => (/[0-9#%@]/.test(w) || (/^[0-9a-fA-F]+$/.test(w) && w.length >= 8) ? '#' : w));

const expectedLevels = (t: SynthTruth): Record<string, number> => ({ ...t.levels, unknown: 0 });

describe('level counts equal grep -c on a synthetic file', () => {
  let file: string;
  let truth: SynthTruth;
  before(() => {
    file = join(dir, 'grep.log');
    truth = writeSyntheticLog(file, { lines: 60_000 }, { seed: 7, formats: { iso: 5, isoSpace: 2, json: 2, syslog: 1 } });
  });

  for (const mode of ['levels', 'full'] as const) {
    for (const which of ['wasm', 'js'] as const) {
      test(`${mode} mode, ${which} kernels`, async () => {
        const report = await analyzeLogs([file], { mode, kernels: which === 'wasm' ? wasm : js, year: 2024 });
        assert.equal(report.kernel, which);
        const words = { fatal: 'FATAL', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE' } as const;
        for (const [level, word] of Object.entries(words)) {
          const grep = grepCount(word, file);
          assert.ok(grep > 0, `${word} occurs`);
          assert.equal(report.levels[level as keyof typeof words], grep, `${level} vs grep -c ${word}`);
        }
        assert.equal(report.lines, Number(execFileSync('wc', ['-l', file], { encoding: 'utf8' }).trim().split(/\s+/)[0]));
        assert.deepEqual(report.levels, expectedLevels(truth));
        assert.equal(report.malformed, 0);
      });
    }
  }
});

describe('every format against the generator’s truth', () => {
  let file: string;
  let truth: SynthTruth;
  let report: LogReport;
  before(async () => {
    file = join(dir, 'mixed.log');
    truth = writeSyntheticLog(file, { lines: 30_000 }, { seed: 11, stepMs: 700, formats: { iso: 3, isoSpace: 1, json: 1, pino: 1, syslog: 1, syslogPri: 1, access: 2 } });
    report = await analyzeLogs([file], { kernels: wasm, year: 2024, top: 100 });
  });

  test('levels, formats, lines', () => {
    assert.deepEqual(report.levels, expectedLevels(truth));
    const f = truth.formats;
    assert.deepEqual(report.formats, { iso: f.iso + f.isoSpace, syslog: f.syslog + f.syslogPri, json: f.json + f.pino, access: f.access, logfmt: 0, plain: 0, none: 0 });
    assert.equal(report.lines, truth.lines);
    assert.equal(report.bytes, truth.bytes);
    assert.deepEqual(report.files, [{ path: file, bytes: truth.bytes, lines: truth.lines, gzip: false }]);
  });

  test('first and last timestamps, hourly histogram', () => {
    assert.equal(report.firstTimestamp, new Date(truth.firstMs).toISOString());
    assert.equal(report.lastTimestamp, new Date(truth.lastMs).toISOString());
    assert.equal(report.untimed, 0);
    const hours = [...truth.hourly.entries()].sort((a, b) => a[0] - b[0]).map(([h, n]) => [new Date(h).toISOString(), n]);
    assert.deepEqual(report.hourly.map((b) => [b.hour, b.lines]), hours);
    assert.ok(hours.length >= 5, 'the file spans several hours');
    const errors = report.hourly.reduce((s, b) => s + b.errors, 0);
    assert.equal(errors, truth.levels.error + truth.levels.fatal);
    assert.equal(report.hourly.reduce((s, b) => s + b.warnings, 0), truth.levels.warn);
  });

  test('error rate per minute', () => {
    const series = [...truth.errorMinutes.entries()].sort((a, b) => a[0] - b[0]).map(([m, n]) => ({ minute: new Date(m).toISOString(), errors: n }));
    assert.deepEqual(report.errorRate.series, series);
    assert.equal(report.errorRate.errors, truth.levels.error + truth.levels.fatal);
    const minutes = (truth.lastMs - truth.firstMs) / 60_000;
    assert.ok(Math.abs(report.errorRate.minutes - minutes) < 1e-9);
    assert.ok(Math.abs(report.errorRate.perMinute - report.errorRate.errors / minutes) < 1e-9);
    const peak = Math.max(...series.map((s) => s.errors));
    assert.equal(report.errorRate.peak?.errors, peak);
  });

  test('top messages: normalised templates with their exact counts', () => {
    const expected = new Map<string, number>();
    for (const [tpl, n] of truth.templates) {
      // an access log's status is kept verbatim in front of its masked request
      const key = /^\d{3} /.test(tpl) ? tpl.slice(0, 4) + maskTemplate(tpl.slice(4)) : maskTemplate(tpl);
      expected.set(key, (expected.get(key) ?? 0) + n);
    }
    // iso and isoSpace lines keep their thread / logger prefix in the message
    const stripped = new Map<string, number>();
    for (const t of report.top) {
      assert.equal(t.maxError, 0, 'few distinct messages: the sketch is exact');
      const m = t.message.replace(/^\[#\] /, '').replace(/^\[main\] c\.e\.Service - /, '');
      stripped.set(m, (stripped.get(m) ?? 0) + t.count);
    }
    assert.deepEqual(new Map([...stripped].sort()), new Map([...expected].sort()));
    assert.ok(report.top.some((t) => /^50\d GET \/api\/users\/#$/.test(t.message) && t.level === 'error'));
    for (let i = 1; i < report.top.length; i++) assert.ok(report.top[i - 1]!.count >= report.top[i]!.count);
    assert.ok(report.topProblems.length > 0);
    for (const t of report.topProblems) assert.ok(['fatal', 'error', 'warn'].includes(t.level));
  });

  test('the JS kernels give the same report', async () => {
    const viaJs = await analyzeLogs([file], { kernels: js, year: 2024, top: 100 });
    assert.equal(viaJs.kernel, 'js');
    assert.deepEqual(stable(viaJs), stable(report));
  });

  test('chunk boundaries do not matter: a 4 KiB buffer gives the same report', async () => {
    const small = await analyzeLogs([file], { kernels: wasm, year: 2024, top: 100, chunkBytes: 4096 });
    assert.deepEqual(stable(small), stable(report));
  });

  test('gzip (detected by content) and stdin give the same counts', async () => {
    const gz = join(dir, 'mixed.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    const viaGzip = await analyzeLogs([gz], { kernels: wasm, year: 2024, top: 100 });
    assert.deepEqual(viaGzip.files, [{ path: gz, bytes: truth.bytes, lines: truth.lines, gzip: true }]);
    assert.deepEqual({ ...stable(viaGzip), files: [] }, { ...stable(report), files: [] });

    // stdin in uneven pieces
    const data = readFileSync(file);
    const pieces: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const n = 1 + ((i * 7919) % 70_000);
      pieces.push(data.subarray(at, at + n));
      at += n;
    }
    const viaStdin = await analyzeLogs(['-'], { kernels: wasm, year: 2024, top: 100, stdin: Readable.from(pieces) });
    assert.deepEqual(viaStdin.files, [{ path: '-', bytes: truth.bytes, lines: truth.lines, gzip: false }]);
    assert.deepEqual({ ...stable(viaStdin), files: [] }, { ...stable(report), files: [] });
  });
});

describe('the WASM level pass agrees with the JS analyzer (fast-check)', () => {
  // lines built from the pieces the parsers branch on: valid and broken timestamps, brackets,
  // fractions, zones, level words in any case, separators, CR, blank lines, other formats
  const digits = (n: number) => fc.array(fc.constantFrom('0', '1', '2', '5', '9', 'x'), { minLength: n, maxLength: n }).map((a) => a.join(''));
  // mostly valid timestamps (so the level word paths run), some near-misses
  const validStamp = fc.tuple(
    fc.constantFrom('2024-03-05', '1999-12-31'),
    fc.constantFrom('T', ' '),
    fc.constantFrom('10:15:00', '23:59:60', '00:00:00'),
    fc.constantFrom('', '.1', ',123', '.123456789012345678901'),
    fc.constantFrom('', 'Z', '+02:00', '-0700'),
  ).map((p) => p.join(''));
  const oddStamp = fc.tuple(
    fc.oneof(fc.constant('2024'), digits(4)),
    fc.oneof(fc.constant('-03-'), fc.constant('-13-'), fc.constant('/03-')),
    fc.oneof(fc.constant('05'), digits(2)),
    fc.constantFrom('T', ' ', 't', 'X', '\u0000'),
    fc.oneof(fc.constant('10:15:00'), fc.constant('24:00:00'), fc.constant('10:60:61'), fc.constant('10-15:00')),
    fc.constantFrom('', '.1', ',123456', '.'),
    fc.constantFrom('', 'Z', 'z', '+02:00', '-0700', '+1', '+02:'),
  ).map((p) => p.join(''));
  const stamp = fc.oneof({ weight: 3, arbitrary: validStamp }, { weight: 1, arbitrary: oddStamp });
  const word = fc.constantFrom('ERROR', 'error', 'Warn', 'WARN', 'WARNING', 'WARNS', 'INFOS', 'ERRORS', 'INFO', 'info', 'DEBUG', 'TRACE', 'FATAL', 'CRITICAL', 'crit', 'ERR', 'Errors', 'main', 'c.e.Service', 'x1', '', 'NOTICE', 'verbose', 'EMERGENCY', 'PANIC', 'averyveryverylongwordthatcrossesthe32bytewindow', 'x1234567890123456789012345678901234', '                                  ');
  const sepr = fc.constantFrom(' ', '  ', ' - ', ' [', '] ', ': ', '|', '\t', '(', ')', ',', '=', '"', "'", '', '.', '#');
  const rest = fc.array(fc.tuple(sepr, word), { maxLength: 6 }).map((a) => a.flat().join(''));
  // realistic lines of every format, then mutated: a character replaced, removed or inserted, or the
  // line cut, so that every branch of every parser sees near-misses
  const samples = [
    '{"level":"warn","ts":1709626860.5,"msg":"slow"}',
    '{"time":"2024-03-05T08:22:00Z","level":50,"msg":"x \\"q\\" y"}',
    '{"severity":"CRITICAL","@timestamp":"2024-03-05T08:22:00Z","message":"down"}',
    '{"lvl": "Info", "log.level": "error", "a": [1, {"level": "debug"}]}',
    '<11>1 2024-03-05T08:18:00.5Z web app 42 ID7 [sd@1 k="a]b"] disk failed',
    '<12>Mar  5 08:19:00 web sshd[99]: Invalid user',
    '<191>Dec 31 23:59:60 h t: WARNING x',
    'Mar  5 08:20:00 web kernel: error: oops',
    'Oct 11 22:14:15 mymachine su[1]: DEBUG x',
    'time=2024-03-05T08:23:00Z level=error msg="upstream 502" id=7',
    'ts=1 lvl="WARN" msg=x',
    '::1 - frank [05/Mar/2024:01:24:00 -0700] "POST /login?next=/ HTTP/1.1" 401 12',
    '10.0.0.1 - - [05/Mar/2024:10:00:00 +0000] "GET /a\\"b HTTP/1.1" 503 1 "-" "curl"',
    'example.com - - [05/Mar/2024:08:25:00 +0000] "GET /health HTTP/2.0" 200 2',
    'ERROR: disk full',
    '[WARN] something',
    'nothing to see here',
    '2024-03-05 08:16:01,250 - payments - WARNING - retry 3',
  ];
  const mutated = fc
    .tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.constantFrom('del', 'ins', 'set', 'cut'), fc.constantFrom(' ', '"', '[', ']', ':', '-', '=', '{', '}', '<', '>', '\\', '0', '9', 'a', 'Z', '\u00e9')), { maxLength: 3 }))
    .map(([text, ops]) => {
      let l = text;
      for (const [at, op, ch] of ops) {
        const i = l.length === 0 ? 0 : at % l.length;
        if (op === 'del') l = l.slice(0, i) + l.slice(i + 1);
        else if (op === 'ins') l = l.slice(0, i) + ch + l.slice(i);
        else if (op === 'set') l = l.slice(0, i) + ch + l.slice(i + 1);
        else l = l.slice(0, i);
      }
      return l;
    });
  const line = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.boolean(), stamp, rest).map(([br, st, r]) => (br ? `[${st}]` : st) + r) },
    { weight: 4, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom('', '\r') },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
  const crlf = fc.tuple(line, fc.boolean()).map(([l, cr]) => l + (cr ? '\r' : ''));

  test('levels, formats, blank and malformed counts are equal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(crlf, { maxLength: 60 }), fc.boolean(), async (lines, lastNewline) => {
        const text = Buffer.from(lines.join('\n') + (lastNewline ? '\n' : ''));
        const run = (k: Kernels) => analyzeLogs(['-'], { mode: 'levels', kernels: k, year: 2024, stdin: Readable.from([text]), chunkBytes: 4096 });
        const [w, j] = await Promise.all([run(wasm), run(js)]);
        assert.equal(w.kernel, 'wasm');
        assert.deepEqual(stable(w), stable(j));
        // and the full analysis agrees on the level counts
        const f = await analyzeLogs(['-'], { kernels: js, year: 2024, stdin: Readable.from([text]), chunkBytes: 4096 });
        assert.deepEqual(f.levels, j.levels);
        assert.deepEqual(f.formats, j.formats);
      }),
      { numRuns: 500 },
    );
  });

  test('level counting read from files (no copy, two scanners) equals the JS twin, long lines included', async () => {
    // lines longer than the read reserve (chunkBytes / 4) and than chunkBytes take the spill and cut paths
    const long = fc.tuple(line, fc.integer({ min: 500, max: 9000 })).map(([l, n]) => l + ' x'.repeat(n));
    const any = fc.oneof({ weight: 5, arbitrary: crlf }, { weight: 1, arbitrary: long });
    let k = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(any, { maxLength: 80 }), fc.boolean(), async (lines, lastNewline) => {
        const f = join(dir, `zc-${k++}.log`);
        writeFileSync(f, lines.join('\n') + (lastNewline ? '\n' : ''));
        const run = (kk: Kernels) => analyzeLogs([f, f], { mode: 'levels', kernels: kk, year: 2024, chunkBytes: 4096 });
        const [w, j] = await Promise.all([run(wasm), run(js)]);
        assert.equal(w.kernel, 'wasm');
        assert.deepEqual(stable(w), stable(j));
        rmSync(f);
      }),
      { numRuns: 150 },
    );
  });
});

describe('formats and odd lines', () => {
  const analyze = async (text: string, opts: AnalyzeOptions = {}): Promise<LogReport> => {
    const f = join(dir, `case-${Math.random().toString(36).slice(2)}.log`);
    writeFileSync(f, text);
    return analyzeLogs([f], { kernels: wasm, year: 2024, ...opts });
  };

  test('each documented format', async () => {
    const r = await analyze(
      [
        '2024-03-05T10:15:00+02:00 ERROR [db] connection lost', // offset → 08:15Z
        '2024-03-05 08:16:01,250 - payments - WARNING - retry 3', // python logging
        '[2024-03-05T08:17:00Z] [INFO] started', // bracketed
        '<11>1 2024-03-05T08:18:00.5Z web app 42 ID7 [exampleSDID@32473 iut="3" note="a]b"] disk failed', // RFC 5424, severity 3
        '<12>Mar  5 08:19:00 web sshd[99]: Invalid user', // RFC 3164 with PRI, severity 4
        'Mar  5 08:20:00 web kernel: error: oops', // RFC 3164, level in the message
        '{"level":"warn","ts":1709626860.5,"msg":"slow"}', // zap: epoch seconds → 08:21:00.500Z
        '{"severity":"CRITICAL","@timestamp":"2024-03-05T08:22:00Z","message":"down"}',
        'time=2024-03-05T08:23:00Z level=error msg="upstream 502" id=7', // logfmt
        '::1 - frank [05/Mar/2024:01:24:00 -0700] "POST /login?next=/ HTTP/1.1" 401 12', // access, IPv6, 08:24Z
        'example.com - - [05/Mar/2024:08:25:00 +0000] "GET /health HTTP/2.0" 200 2', // access, named host
        'ERROR: disk full', // plain
        'nothing to see here', // none
      ].join('\n'),
      { top: 20 },
    );
    assert.deepEqual(r.levels, { fatal: 1, error: 5, warn: 4, info: 2, debug: 0, trace: 0, unknown: 1 });
    assert.deepEqual(r.formats, { iso: 3, syslog: 3, json: 2, access: 2, logfmt: 1, plain: 1, none: 1 });
    assert.equal(r.malformed, 1);
    assert.equal(r.untimed, 2);
    assert.equal(r.firstTimestamp, '2024-03-05T08:15:00.000Z');
    assert.equal(r.lastTimestamp, '2024-03-05T08:25:00.000Z');
    assert.deepEqual(r.hourly, [{ hour: '2024-03-05T08:00:00.000Z', lines: 11, errors: 5, warnings: 4 }]);
    const messages = r.top.map((t) => t.message);
    for (const m of ['[db] connection lost', 'retry #', 'disk failed', 'Invalid user', 'oops', 'slow', 'down', 'upstream #', '401 POST /login', '200 GET /health', 'disk full']) {
      assert.ok(messages.includes(m), `top has ${JSON.stringify(m)}: ${JSON.stringify(messages)}`);
    }
  });

  test('malformed, blank, CRLF, binary, over-long and unterminated lines are counted, never fatal', async () => {
    const long = 'x'.repeat(10_000);
    const r = await analyze(
      [
        '{"level":"error","msg":"cut', // JSON not closed
        '',
        '2024-03-05T08:00:00Z INFO crlf\r',
        '\u0000\u0001\u00ff\u00fe garbage',
        `2024-03-05T08:00:01Z WARN ${long}`,
        '2024-13-45T99:99:99Z ERROR impossible date',
        '2024-03-05T08:00:02Z ERROR last line without newline',
      ].join('\n'),
      { chunkBytes: 4096 },
    );
    assert.equal(r.lines, 7);
    assert.equal(r.blank, 1);
    assert.equal(r.truncated, 1);
    assert.equal(r.levels.error, 2); // the cut JSON line still says error; the impossible date's line has no level up front
    assert.equal(r.levels.warn, 1);
    assert.equal(r.levels.info, 1);
    assert.equal(r.malformed, 3); // cut JSON, garbage, impossible date (no timestamp, no level up front)
    assert.equal(r.lastTimestamp, '2024-03-05T08:00:02.000Z');
  });

  test('bounded: many distinct messages and hours stay within their caps', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const t = new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString();
      // every message distinct even after masking (letters only)
      lines.push(`${t} INFO event ${String.fromCharCode(97 + (i % 26), 97 + ((i / 26) % 26 | 0), 97 + ((i / 676) % 26 | 0))} happened`);
    }
    for (let i = 0; i < 300; i++) lines.push('2024-01-01T00:00:00Z ERROR the usual failure 42');
    const r = await analyze(lines.join('\n') + '\n', { maxHours: 100, top: 5 });
    assert.equal(r.hourly.length, 100);
    assert.equal(r.hoursDropped, 5300 - r.hourly.reduce((s, b) => s + b.lines, 0));
    assert.equal(r.top[0]!.message, 'the usual failure #');
    assert.ok(r.top[0]!.count >= 300 - r.top[0]!.maxError && r.top[0]!.count <= 300);
    assert.equal(r.top.length, 5);
  });
});

describe('paths, globs and roots', () => {
  let logs: string;
  let outside: string;
  before(() => {
    logs = join(dir, 'root');
    outside = join(dir, 'outside');
    mkdirSync(join(logs, 'app', 'sub'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    const line = '2024-03-05T08:00:00Z ERROR boom\n';
    writeFileSync(join(logs, 'app', 'a.log'), line);
    writeFileSync(join(logs, 'app', 'b.log'), line + line);
    writeFileSync(join(logs, 'app', 'c.txt'), line);
    writeFileSync(join(logs, 'app', '.hidden.log'), line);
    writeFileSync(join(logs, 'app', 'sub', 'd.log'), line);
    writeFileSync(join(outside, 'secret.log'), line);
    symlinkSync(join(outside, 'secret.log'), join(logs, 'app', 'link.log'));
  });

  test('globs: *, **, braces; sorted; dotfiles not matched', async () => {
    const r1 = await analyzeLogs(['app/*.log'], { cwd: logs });
    assert.deepEqual(r1.files.map((f) => f.path), [join(logs, 'app', 'a.log'), join(logs, 'app', 'b.log'), join(logs, 'app', 'link.log')]);
    const r2 = await analyzeLogs([join(logs, 'app', '**', '*.{log,txt}')], {});
    assert.equal(r2.files.length, 5);
    assert.equal(r2.levels.error, 6);
  });

  test('a missing file, an empty glob, a directory: clear errors', async () => {
    await assert.rejects(analyzeLogs([join(logs, 'nope.log')]), (e: unknown) => hasCode(e, 'LOGS_FILE_NOT_FOUND') && /nope\.log/.test((e as Error).message));
    await assert.rejects(analyzeLogs([join(logs, '*.gz')]), (e: unknown) => hasCode(e, 'LOGS_NO_MATCH'));
    await assert.rejects(analyzeLogs([join(logs, 'app')]), (e: unknown) => hasCode(e, 'LOGS_NOT_A_FILE'));
    await assert.rejects(analyzeLogs([]), (e: unknown) => hasCode(e, 'LOGS_INPUT_INVALID'));
    await assert.rejects(analyzeLogs([join(logs, 'app', 'a.log')], { top: -1 }), (e: unknown) => hasCode(e, 'LOGS_INPUT_INVALID'));
    await assert.rejects(analyzeLogs([join(logs, 'app', '*.log')], { maxFiles: 2 }), (e: unknown) => hasCode(e, 'LOGS_TOO_MANY_FILES'));
  });

  test('roots: inside is read (relative to the first root), outside is denied', async () => {
    const ok = await analyzeLogs(['app/a.log'], { roots: [logs] });
    assert.deepEqual(ok.files.map((f) => f.path), [join(logs, 'app', 'a.log')]);
    const denied = (e: unknown): boolean => hasCode(e, 'LOGS_PATH_DENIED');
    await assert.rejects(analyzeLogs([join(outside, 'secret.log')], { roots: [logs] }), denied);
    await assert.rejects(analyzeLogs(['../outside/secret.log'], { roots: [logs] }), denied);
    await assert.rejects(analyzeLogs(['app/link.log'], { roots: [logs] }), denied, 'a symlink out of the root');
    await assert.rejects(analyzeLogs(['app/*.log'], { roots: [logs] }), denied, 'a glob that matches the symlink');
    await assert.rejects(analyzeLogs([join(outside, '*.log')], { roots: [logs] }), denied);
    await assert.rejects(analyzeLogs(['-'], { roots: [logs] }), denied);
    await assert.rejects(analyzeLogs(['app/a.log'], { roots: [] }), (e: unknown) => denied(e) && /no log roots/.test((e as Error).message));
  });

  test('a corrupt gzip file is a clear LOGS_READ_FAILED naming the file', async () => {
    const bad = join(logs, 'app', 'broken.log.gz');
    const good = gzipSync(Buffer.from('2024-03-05T08:00:00Z ERROR boom\n'.repeat(1000)));
    writeFileSync(bad, Buffer.concat([good.subarray(0, 40), Buffer.from('not deflate data at all')]));
    try {
      await assert.rejects(analyzeLogs([bad]), (e: unknown) => hasCode(e, 'LOGS_READ_FAILED') && (e as Error).message.includes('broken.log.gz'));
    } finally {
      rmSync(bad);
    }
  });

  test('an aborted signal stops the analysis', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(analyzeLogs([join(logs, 'app', 'a.log')], { signal: ac.signal }), (e: unknown) => hasCode(e, 'LOGS_ABORTED'));
  });
});
