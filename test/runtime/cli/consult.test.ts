// `codectl consult` and `codectl review`, in-process, with a codectl.yaml whose LLM experts speak to
// the mock provider server over real HTTP.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tempWorkdir } from '../../helpers/engine.js';
import { runCliInProcess } from '../../helpers/cli.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';

const KEY = 'sk-cli-SECRET-777';
let mock: MockProviderServer;
const w = tempWorkdir('code-cli-consult-');

const cli = (args: string[], env: NodeJS.ProcessEnv = { CLI_KEY: KEY }) => runCliInProcess(w.dir, args, { env });

before(async () => {
  mock = await MockProviderServer.start();
  mock.script('good-1', (req) => ({ kind: 'answer', content: answerJson({ answer: /deploy/i.test(req.system + req.user) ? 'approve' : 'postgres', confidence: 0.8, recommendations: ['Use connection pooling'] }) }));
  mock.script('good-2', (req) => ({ kind: 'answer', content: answerJson({ answer: /deploy/i.test(req.system + req.user) ? 'approve' : 'postgres', confidence: 0.7, recommendations: ['Pool the connections'] }) }));
  mock.script('down', { kind: 'status', status: 503, message: 'overloaded' });
  w.write(
    'codectl.yaml',
    [
      'experts:',
      '  providers:',
      `    - { name: gpt, kind: openai, baseUrl: "${mock.url}/v1", model: good-1, apiKeyEnv: CLI_KEY }`,
      `    - { name: claude, kind: anthropic, baseUrl: "${mock.url}", model: good-2, apiKeyEnv: CLI_KEY }`,
      `    - { name: flaky, kind: ollama, baseUrl: "${mock.url}", model: down }`,
      '  minResponses: 2',
      '  earlyReturn: false',
      '  maxAttempts: 1',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await mock.close();
  w.cleanup();
});

describe('codectl consult', () => {
  it('prints the consensus, flags the degradation on stderr, exits 0', async () => {
    const r = await cli(['consult', 'Postgres or MySQL?', '--choice', 'postgres', '--choice', 'mysql']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^answer: postgres {3}agreement 100%/);
    assert.match(r.out, /\* Use connection pooling {2}\[2\/2: claude, gpt\]/);
    assert.match(r.out, /flaky\s+error\s+.*HTTP 503: overloaded/);
    assert.match(r.out, /degraded: flaky error: flaky: HTTP 503: overloaded/);
    assert.match(r.err, /the consultation is degraded/);
    assert.ok(!r.out.includes(KEY) && !r.err.includes(KEY));
  });

  it('--json prints the JSON result only; --context and --expert are passed on', async () => {
    w.write('ctx.json', JSON.stringify({ workload: 'OLTP, 2k writes/s' }));
    const before = mock.requests.length;
    const r = await cli(['--json', 'consult', 'Postgres or MySQL?', '--choice', 'postgres', '--choice', 'mysql', '--context', 'ctx.json', '--expert', 'gpt', '--expert', 'claude', '--fresh']);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out);
    assert.equal(result.answer, 'postgres');
    assert.deepEqual(result.experts.map((e: { name: string }) => e.name), ['gpt', 'claude']);
    const sent = mock.requests.slice(before);
    assert.equal(sent.length, 2);
    assert.ok(sent.every((q) => q.user.includes('"workload": "OLTP, 2k writes/s"')));
  });

  it('exits 2 with one clear line on bad input', async () => {
    const missing = await cli(['consult', 'q?', '--context', 'nope.json']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^codectl: --context nope\.json: cannot read it \(ENOENT\) \[EXPERTS_INVALID_REQUEST\]\n$/);
    w.write('bad.json', '{ "a": ');
    const bad = await cli(['consult', 'q?', '--context', 'bad.json']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--context bad\.json: not valid JSON/);
    const who = await cli(['consult', 'q?', '--expert', 'nobody']);
    assert.equal(who.code, 2);
    assert.match(who.err, /unknown expert "nobody" \(configured: gpt, claude, flaky, security, reliability, performance, cost\) \[EXPERTS_UNKNOWN_EXPERT\]/);
    const one = await cli(['consult', 'q?', '--choice', 'only']);
    assert.equal(one.code, 2);
    assert.match(one.err, /choices: needs at least 2 choices/);
  });

  it('exits 1 when no expert could answer, and says why when they all abstained', async () => {
    const r = await cli(['consult', 'Anyone?', '--expert', 'flaky']);
    assert.equal(r.code, 1);
    assert.match(r.out, /^answer: \(none\)/);
    const builtins = await cli(['consult', 'Tabs or spaces?', '--expert', 'security', '--expert', 'cost']);
    assert.equal(builtins.code, 1);
    assert.match(builtins.err, /every expert abstained: the built-in experts only review deployments/);
    assert.match(builtins.out, /security\s+abstain/);
  });
});

describe('codectl review', () => {
  it('checks, then approves a healthy deployment (exit 0) and requests changes on a bad one (exit 1), rules named', async (t) => {
    // A real listener for the healthy spec: the check probes its port and its TCP health check.
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    w.write(
      'clean.yaml',
      ['version: 1', 'global:', '  host: 127.0.0.1', 'services:', '  web:', '    replicas: 2', '    cpu: 500m', '    memory: 512Mi', `    ports: [${port}]`, '    health:', `      tcp: ${port}`, ''].join('\n'),
    );
    const ok = await cli(['--json', 'review', 'clean.yaml', '--expert', 'security', '--expert', 'reliability', '--expert', 'performance', '--expert', 'cost', '--expert', 'gpt']);
    assert.equal(ok.code, 0, ok.out + ok.err);
    const okJson = JSON.parse(ok.out);
    assert.equal(okJson.check.ok, true);
    assert.equal(okJson.check.services[0].status, 'up');
    assert.equal(okJson.consultation.answer, 'approve');
    assert.equal(okJson.consultation.kind, 'review');
    assert.equal(okJson.consultation.dissent.experts.length, 0);

    w.write(
      'risky.yaml',
      ['version: 1', 'global:', '  host: 127.0.0.1', 'services:', '  web:', '    replicas: 1', '    ports: [23]', '    environment:', '      DB_PASSWORD: hunter2-hunter2', ''].join('\n'),
    );
    const before = mock.requests.length;
    const bad = await cli(['review', 'risky.yaml', '--expert', 'security', '--expert', 'reliability', '--expert', 'performance', '--expert', 'gpt']);
    assert.equal(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, /^SERVICE/);
    assert.match(bad.out, /answer: changes-requested/);
    assert.match(bad.out, /security\/secret-in-spec/);
    assert.match(bad.out, /security\/cleartext-protocol/);
    assert.match(bad.out, /reliability\/port-unreachable/);
    assert.match(bad.out, /reliability\/single-replica/);
    assert.ok(!bad.out.includes('hunter2-hunter2'), 'a secret in the spec is never repeated');
    const sent = mock.requests.slice(before);
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.user, /DB_PASSWORD": "\[literal value redacted\]"/);
    assert.ok(!sent[0]!.user.includes('hunter2-hunter2'), 'nor sent to an LLM provider');

    const none = await cli(['review', 'missing.yaml']);
    assert.equal(none.code, 2);
    assert.match(none.err, /^codectl: missing\.yaml/);
    assert.equal(none.out, '');
  });
});
