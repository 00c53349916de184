// One contract suite, run against every provider protocol, streaming and not, over real HTTP to the
// mock provider server on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { ExpertsError, isRetryableProviderError } from '../../../src/capabilities/experts/errors.js';
import { LlmExpert } from '../../../src/capabilities/experts/llm-expert.js';
import { HttpClient } from '../../../src/platform/net/index.js';
import { createProvider, netTransport, validateProviderConfig } from '../../../src/capabilities/experts/providers/index.js';
import { undiciTransport } from '../../helpers/undici-transport.js';
import type { ProviderConfig, ProviderKind } from '../../../src/capabilities/experts/providers/index.js';
import { lines, sseEvents } from '../../../src/capabilities/experts/providers/streams.js';
import { MockProviderServer, answerJson } from '../../helpers/mock-providers.js';

const KEY = 'sk-test-SECRET-1234567890';
const signal = (): AbortSignal => new AbortController().signal;

let mock: MockProviderServer;
let agent: Agent;
let http: HttpClient;

before(async () => {
  mock = await MockProviderServer.start();
  agent = new Agent({ connections: 16 });
  http = new HttpClient({ connectionsPerOrigin: 16, breaker: false });
});
after(async () => {
  await http.close();
  await agent.close();
  await mock.close();
});

/** The two transports a provider runs on: undici directly, and the platform's HttpClient. */
const transports = {
  undici: () => undiciTransport({ dispatcher: agent }),
  net: () => netTransport(http),
};

let modelSeq = 0;
function setup(kind: ProviderKind, stream: boolean, extra: Partial<ProviderConfig> = {}, via: keyof typeof transports = 'undici') {
  const model = `m${++modelSeq}-${kind}-${stream ? 's' : 'j'}`;
  const config: ProviderConfig = {
    name: `p${modelSeq}`,
    kind,
    baseUrl: kind === 'openai' ? `${mock.url}/v1` : mock.url,
    model,
    apiKeyEnv: 'MOCK_KEY',
    stream,
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    ...extra,
  };
  const provider = createProvider(config, { transport: transports[via](), env: { MOCK_KEY: KEY } });
  return { model, provider, expert: new LlmExpert(provider) };
}

const q = { question: 'Is the sky blue?', choices: ['yes', 'no'] };

for (const via of ['undici', 'net'] as const) {
  for (const kind of ['openai', 'anthropic', 'ollama'] as const) {
    for (const stream of [true, false]) {
      describe(`provider ${kind} (${stream ? 'streaming' : 'whole'}, over ${via})`, () => {
        it('answers in the schema, counts tokens, sends the key from the environment only as its header', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'answer', content: answerJson({ answer: 'Yes', confidence: 0.8, recommendations: ['Look up', { text: 'Check the weather', rule: 'r1' }], rationale: 'Rayleigh scattering' }) });
          const out = await expert.ask(q, { signal: signal() });
          assert.equal(out.status, 'ok');
          if (out.status !== 'ok') return;
          assert.equal(out.answer.answer, 'yes', 'matched to the canonical choice');
          assert.equal(out.answer.confidence, 0.8);
          assert.deepEqual(out.answer.recommendations, [{ text: 'Look up' }, { text: 'Check the weather', rule: 'r1' }]);
          assert.ok(out.usage!.inputTokens > 0 && out.usage!.outputTokens > 0, 'token counts come from the protocol');
          const [req] = mock.requestsFor(model);
          assert.equal(req!.stream, stream);
          assert.match(req!.system, /"confidence"/);
          assert.match(req!.user, /Is the sky blue\?/);
          if (kind === 'anthropic') {
            assert.equal(req!.headers['x-api-key'], KEY);
            assert.equal(req!.headers['anthropic-version'], '2023-06-01');
          } else assert.equal(req!.headers.authorization, `Bearer ${KEY}`);
          assert.ok(!JSON.stringify(req!.body).includes(KEY), 'the key is never in the body');
        });

        it('reports 429 as a retryable rate-limit error with its reason, never an answer', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after': '2' } });
          const out = await expert.ask(q, { signal: signal() });
          assert.equal(out.status, 'error');
          if (out.status !== 'error') return;
          assert.equal(out.code, 'EXPERTS_PROVIDER_RATE_LIMITED');
          assert.match(out.reason, /429.*slow down/);
        });

        it('reports 500 as an error', async () => {
          const { model, provider } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'status', status: 500, message: 'boom' });
          await assert.rejects(provider.chat({ system: 's', messages: [{ role: 'user', content: 'u' }], signal: signal() }), (err: unknown) => {
            assert.ok(err instanceof ExpertsError);
            assert.equal(err.code, 'EXPERTS_PROVIDER_HTTP');
            assert.equal(err.details?.status, 500);
            assert.ok(isRetryableProviderError(err));
            return true;
          });
        });

        it('reports a stream cut midway as a retryable error', async () => {
          const { model, provider } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'cut', content: answerJson({ answer: 'yes', confidence: 0.9 }), afterChunks: 2 });
          await assert.rejects(provider.chat({ system: 's', messages: [{ role: 'user', content: 'u' }], signal: signal() }), (err: unknown) => {
            assert.ok(err instanceof ExpertsError);
            assert.equal(err.code, 'EXPERTS_PROVIDER_STREAM_CUT');
            assert.ok(isRetryableProviderError(err));
            return true;
          });
        });

        it('retries a malformed body once, then records an error', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'malformed' });
          const out = await expert.ask(q, { signal: signal() });
          assert.equal(out.status, 'error');
          assert.equal(mock.requestsFor(model).length, 2, 'asked exactly twice');
          if (out.status === 'error') assert.equal(out.code, 'EXPERTS_PROVIDER_BAD_RESPONSE');
        });

        it('retries an invalid answer once with the reason, and accepts the corrected one', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, (req) => (req.n === 1 ? { kind: 'answer', content: answerJson({ answer: 'maybe', confidence: 0.5 }) } : { kind: 'answer', content: answerJson({ answer: 'no', confidence: 0.6 }) }));
          const out = await expert.ask(q, { signal: signal() });
          assert.equal(out.status, 'ok');
          if (out.status === 'ok') {
            assert.equal(out.answer.answer, 'no');
            assert.equal(out.attempts, 2);
          }
          const second = mock.requestsFor(model)[1]!;
          assert.match(second.user, /not valid: "answer" must be one of "yes", "no"; got "maybe"/);
          assert.equal(second.messages.filter((m) => m.role === 'assistant').length, 1, 'the bad reply is shown back');
        });

        it('gives up after a second invalid answer', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'answer', content: 'I think yes, probably.' });
          const out = await expert.ask(q, { signal: signal() });
          assert.equal(out.status, 'error');
          if (out.status === 'error') {
            assert.equal(out.code, 'EXPERTS_ANSWER_INVALID');
            assert.match(out.reason, /malformed answer after one retry: the reply holds no JSON object/);
          }
          assert.equal(mock.requestsFor(model).length, 2);
        });

        it('stops when aborted, even when the server never answers', async () => {
          const { model, expert } = setup(kind, stream, {}, via);
          mock.script(model, { kind: 'hang' });
          const ac = new AbortController();
          const t0 = performance.now();
          setTimeout(() => ac.abort(), 50);
          const out = await expert.ask(q, { signal: ac.signal });
          assert.equal(out.status, 'error');
          assert.ok(performance.now() - t0 < 2_000);
        });
      });
    }
  }
}

describe('provider configuration and secrets', () => {
  it('fails clearly when the key variable is unset, without a request', async () => {
    const { model, provider } = setup('openai', false);
    const p = createProvider({ name: 'nokey', kind: 'openai', baseUrl: `${mock.url}/v1`, model, apiKeyEnv: 'UNSET_VAR' }, { transport: undiciTransport({ dispatcher: agent }), env: {} });
    await assert.rejects(p.chat({ system: 's', messages: [], signal: signal() }), /environment variable UNSET_VAR is not set/);
    assert.equal(mock.requestsFor(model).length, 0);
    void provider;
  });

  it('scrubs the key out of an upstream error that echoes it', async () => {
    const { model, expert } = setup('openai', false);
    mock.script(model, { kind: 'status', status: 401, message: `Incorrect API key provided: ${KEY}` });
    const out = await expert.ask(q, { signal: signal() });
    assert.equal(out.status, 'error');
    if (out.status === 'error') {
      assert.ok(!out.reason.includes(KEY));
      assert.match(out.reason, /Incorrect API key provided: \*\*\*/);
    }
  });

  it('reports an unreachable server as a retryable network error', async () => {
    const p = createProvider({ name: 'down', kind: 'ollama', baseUrl: 'http://127.0.0.1:1', model: 'x' }, { transport: undiciTransport({ dispatcher: agent }), env: {} });
    await assert.rejects(p.chat({ system: 's', messages: [], signal: signal() }), (err: unknown) => {
      assert.ok(err instanceof ExpertsError);
      assert.equal(err.code, 'EXPERTS_PROVIDER_NETWORK');
      assert.ok(isRetryableProviderError(err));
      return true;
    });
  });

  it('rejects bad provider entries naming the key', () => {
    assert.throws(() => validateProviderConfig({ name: 'a', kind: 'openai', baseUrl: 'not a url', model: 'm' }), /experts\.providers\.baseUrl: is not a URL/);
    assert.throws(() => validateProviderConfig({ name: 'a', kind: 'grok' as never, baseUrl: 'http://x', model: 'm' }), /experts\.providers\.kind/);
    assert.throws(() => validateProviderConfig({ name: 'a', kind: 'openai', baseUrl: 'http://u:p@x', model: 'm' }), /must not carry credentials/);
    assert.throws(() => validateProviderConfig({ name: 'a', kind: 'openai', baseUrl: 'http://x', model: 'm', headers: { Authorization: 'Bearer x' } }), /secrets go in the environment/);
    assert.throws(() => validateProviderConfig({ name: 'a', kind: 'openai', baseUrl: 'http://x', model: 'm', apiKeyEnv: 'sk-abc' }), /apiKeyEnv/);
  });
});

describe('stream parsers', () => {
  async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
    for (const p of parts) yield new TextEncoder().encode(p);
  }
  const limits = { maxLineBytes: 1024, maxTotalBytes: 4096 };

  it('splits lines on LF, CRLF and CR, also across chunk boundaries', async () => {
    const out: string[] = [];
    for await (const l of lines(chunks('a\r', '\nb\n\nc\rd', '\r\n'), limits)) out.push(l);
    assert.deepEqual(out, ['a', 'b', '', 'c', 'd']);
  });

  it('parses SSE events with comments, multi-line data and event names', async () => {
    const out: Array<{ event: string; data: string }> = [];
    for await (const e of sseEvents(chunks(': hi\n', 'event: x\ndata: 1\ndata:2\n\n', 'data: {"a":1}\r\n\r\n'), limits)) out.push(e);
    assert.deepEqual(out, [
      { event: 'x', data: '1\n2' },
      { event: 'message', data: '{"a":1}' },
    ]);
  });

  it('bounds the line length and the total size', async () => {
    await assert.rejects(async () => {
      for await (const _ of lines(chunks('x'.repeat(2000)), limits)) void _;
    }, /longer than 1024 bytes/);
    await assert.rejects(async () => {
      for await (const _ of lines(chunks(...Array.from({ length: 10 }, () => `${'y'.repeat(500)}\n`)), limits)) void _;
    }, /larger than 4096 bytes/);
  });
});
