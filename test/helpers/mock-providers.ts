/**
 * A real HTTP server on 127.0.0.1 (port 0) that speaks the three LLM protocols the experts use —
 * OpenAI-compatible chat completions (`POST /v1/chat/completions`, JSON or SSE), the Anthropic
 * Messages API (`POST /v1/messages`, JSON or SSE) and Ollama's native chat (`POST /api/chat`, JSON or
 * NDJSON) — and can be scripted per model to answer, be slow, fail with a status (429, 500...), cut
 * a stream midway, send malformed JSON, or never answer.
 *
 *   const mock = await MockProviderServer.start();
 *   mock.script('m1', () => ({ kind: 'answer', content: answerJson({ answer: 'yes', confidence: 0.8 }) }));
 *   // openai baseUrl: `${mock.url}/v1`; anthropic and ollama baseUrl: mock.url
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MockProtocol = 'openai' | 'anthropic' | 'ollama';

export type MockBehavior =
  /** A whole answer; streamed in pieces when the client asked for a stream. */
  | { kind: 'answer'; content: string; delayMs?: number; chunkDelayMs?: number; usage?: { input: number; output: number } }
  /** An HTTP error status with the protocol's error body. */
  | { kind: 'status'; status: number; message?: string; headers?: Record<string, string>; delayMs?: number }
  /** Starts the answer, then drops the connection: after `afterChunks` pieces when streaming, half the body otherwise. */
  | { kind: 'cut'; content: string; afterChunks?: number; delayMs?: number }
  /** A protocol body (or stream event) that is not JSON. */
  | { kind: 'malformed'; delayMs?: number }
  /** Never answers; the client must give up. */
  | { kind: 'hang' };

export interface MockRequest {
  protocol: MockProtocol;
  model: string;
  stream: boolean;
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
  system: string;
  /** The last user message. */
  user: string;
  messages: Array<{ role: string; content: string }>;
  /** 1 for the first request this server got for this model, 2 for the next... */
  n: number;
}

export type MockScript = (req: MockRequest) => MockBehavior | Promise<MockBehavior>;

/** The JSON an expert is asked for, as a string. */
export function answerJson(a: { answer: string; confidence: number; recommendations?: unknown[]; rationale?: string }): string {
  return JSON.stringify({ answer: a.answer, confidence: a.confidence, recommendations: a.recommendations ?? [], rationale: a.rationale ?? 'because' });
}

const MAX_BODY = 1024 * 1024;
// unref: a scripted delay never keeps a test process alive after the server closed.
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

function pieces(content: string, size = 24): string[] {
  const out: string[] = [];
  for (let i = 0; i < content.length; i += size) out.push(content.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

export class MockProviderServer {
  readonly requests: MockRequest[] = [];
  private readonly scripts = new Map<string, MockScript>();
  private readonly counts = new Map<string, number>();
  private fallback: MockScript | null = null;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<MockProviderServer> {
    const holder: { self?: MockProviderServer } = {};
    const server = createServer((req, res) => {
      holder.self!.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `mock failure: ${(err as Error).message}` } }));
        } else res.destroy();
      });
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.self = new MockProviderServer(server, `http://127.0.0.1:${port}`);
    return holder.self;
  }

  /** Scripts one model: a function of the request, or a fixed behavior. */
  script(model: string, script: MockScript | MockBehavior): this {
    this.scripts.set(model, typeof script === 'function' ? script : () => script);
    return this;
  }

  /** The script for models without their own. */
  scriptDefault(script: MockScript | MockBehavior): this {
    this.fallback = typeof script === 'function' ? script : () => script;
    return this;
  }

  /** Requests received for one model. */
  requestsFor(model: string): MockRequest[] {
    return this.requests.filter((r) => r.model === model);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const protocol: MockProtocol | null =
      req.method === 'POST' && req.url === '/v1/chat/completions' ? 'openai' : req.method === 'POST' && req.url === '/v1/messages' ? 'anthropic' : req.method === 'POST' && req.url === '/api/chat' ? 'ollama' : null;
    if (!protocol) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    let body: Record<string, any>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'request body is not JSON' } }));
      return;
    }
    const model = String(body.model ?? '');
    const n = (this.counts.get(model) ?? 0) + 1;
    this.counts.set(model, n);
    const messages = (Array.isArray(body.messages) ? body.messages : []) as Array<{ role: string; content: string }>;
    const system = protocol === 'anthropic' ? String(body.system ?? '') : String(messages.find((m) => m.role === 'system')?.content ?? '');
    const user = String([...messages].reverse().find((m) => m.role === 'user')?.content ?? '');
    const mreq: MockRequest = { protocol, model, stream: body.stream === true, headers: req.headers, body, system, user, messages, n };
    if (this.requests.length < 100_000) this.requests.push(mreq);
    const script = this.scripts.get(model) ?? this.fallback;
    if (!script) return this.error(res, protocol, 404, `model "${model}" not found`);
    const b = await script(mreq);
    if (b.kind === 'hang') return; // the socket stays open until the client aborts or the server closes
    if (b.delayMs) await sleep(b.delayMs);
    if (res.destroyed) return;
    switch (b.kind) {
      case 'status':
        return this.error(res, protocol, b.status, b.message ?? `status ${b.status}`, b.headers);
      case 'malformed':
        if (mreq.stream) {
          res.writeHead(200, { 'content-type': protocol === 'ollama' ? 'application/x-ndjson' : 'text/event-stream' });
          res.end(protocol === 'ollama' ? '{"message": {"content": "{\\"ans\n' : 'data: {"choices": [{"delta": {"content": "{\\"ans\n\n');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"choices": [{"message": {"content": "{\\"answer');
        }
        return;
      case 'answer':
      case 'cut': {
        const usage = b.kind === 'answer' && b.usage ? b.usage : { input: Math.ceil((system.length + user.length) / 4), output: Math.ceil(b.content.length / 4) };
        if (mreq.stream) await this.stream(res, protocol, model, b.content, usage, b.kind === 'cut' ? (b.afterChunks ?? 1) : null, b.kind === 'answer' ? (b.chunkDelayMs ?? 0) : 0);
        else {
          const whole = JSON.stringify(this.whole(protocol, model, b.content, usage));
          if (b.kind === 'cut') {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(whole)) });
            res.write(whole.slice(0, Math.floor(whole.length / 2)));
            await sleep(5);
            res.destroy();
          } else {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(whole);
          }
        }
        return;
      }
    }
  }

  private error(res: ServerResponse, protocol: MockProtocol, status: number, message: string, headers: Record<string, string> = {}): void {
    const body =
      protocol === 'anthropic'
        ? { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error', message } }
        : protocol === 'ollama'
          ? { error: message }
          : { error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } };
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private whole(protocol: MockProtocol, model: string, content: string, usage: { input: number; output: number }): unknown {
    if (protocol === 'openai') {
      return {
        id: 'chatcmpl-mock',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
      };
    }
    if (protocol === 'anthropic') {
      return { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: content }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: usage.output } };
    }
    return { model, created_at: new Date().toISOString(), message: { role: 'assistant', content }, done: true, done_reason: 'stop', prompt_eval_count: usage.input, eval_count: usage.output };
  }

  private async stream(res: ServerResponse, protocol: MockProtocol, model: string, content: string, usage: { input: number; output: number }, cutAfter: number | null, chunkDelayMs: number): Promise<void> {
    const events: string[] = [];
    const parts = pieces(content);
    if (protocol === 'openai') {
      parts.forEach((p, i) => events.push(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: p } : { content: p }, finish_reason: null }] })}\n\n`));
      events.push(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      events.push(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', model, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } })}\n\n`);
      events.push('data: [DONE]\n\n');
    } else if (protocol === 'anthropic') {
      const ev = (type: string, data: unknown): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
      events.push(ev('message_start', { type: 'message_start', message: { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: usage.input, output_tokens: 1 } } }));
      events.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      events.push(ev('ping', { type: 'ping' }));
      for (const p of parts) events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }));
      events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
      events.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output } }));
      events.push(ev('message_stop', { type: 'message_stop' }));
    } else {
      for (const p of parts) events.push(`${JSON.stringify({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content: p }, done: false })}\n`);
      events.push(`${JSON.stringify({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: usage.input, eval_count: usage.output })}\n`);
    }
    res.writeHead(200, { 'content-type': protocol === 'ollama' ? 'application/x-ndjson' : 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < events.length; i++) {
      if (cutAfter !== null && i >= cutAfter) {
        await sleep(5);
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      res.write(events[i]);
      if (chunkDelayMs > 0) await sleep(chunkDelayMs);
    }
    res.end();
  }
}
