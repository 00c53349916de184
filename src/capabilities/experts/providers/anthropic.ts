import { BaseProvider, RESPONSE_LIMITS, num } from './provider.js';
import type { ChatReply, ChatRequest } from './provider.js';
import { sseEvents } from './streams.js';

export const ANTHROPIC_VERSION = '2023-06-01';

/**
 * The Anthropic Messages API (`POST {baseUrl}/v1/messages`). Streams over SSE with typed events:
 * message_start, content_block_delta (text_delta), message_delta (stop_reason, usage), message_stop.
 */
export class AnthropicProvider extends BaseProvider {
  readonly kind = 'anthropic' as const;

  private url(): string {
    return /\/v1$/.test(this.baseUrl) ? `${this.baseUrl}/messages` : `${this.baseUrl}/v1/messages`;
  }

  async chat(req: ChatRequest): Promise<ChatReply> {
    const key = this.apiKey();
    const body = {
      model: this.model,
      max_tokens: this.maxTokens,
      temperature: this.temperature,
      system: req.system,
      messages: req.messages,
      stream: this.stream,
    };
    const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION, accept: this.stream ? 'text/event-stream' : 'application/json' };
    if (key) headers['x-api-key'] = key;
    const res = await this.post(this.url(), headers, body, req.signal);
    if (res.status < 200 || res.status >= 300) return this.failed(res, req.signal);
    return this.stream ? this.readStream(res.body, req.signal) : this.readWhole(await this.json(res, req.signal));
  }

  private readWhole(raw: unknown): ChatReply {
    const o = raw as { content?: Array<{ type?: unknown; text?: unknown }>; usage?: Record<string, unknown>; stop_reason?: unknown };
    if (!Array.isArray(o?.content)) throw this.error('EXPERTS_PROVIDER_BAD_RESPONSE', 'the response has no content array', { retryable: false });
    const text = o.content.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join('');
    return {
      text,
      usage: { inputTokens: num(o.usage?.input_tokens), outputTokens: num(o.usage?.output_tokens) },
      finish: typeof o.stop_reason === 'string' ? o.stop_reason : null,
    };
  }

  private async readStream(body: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<ChatReply> {
    let text = '';
    let finish: string | null = null;
    let stopped = false;
    const usage = { inputTokens: 0, outputTokens: 0 };
    try {
      for await (const ev of sseEvents(body, RESPONSE_LIMITS)) {
        let data: Record<string, any>;
        try {
          data = JSON.parse(ev.data) as Record<string, any>;
        } catch {
          throw this.badJson(ev.data);
        }
        const type = typeof data.type === 'string' ? data.type : ev.event;
        if (type === 'message_start') {
          usage.inputTokens = num(data.message?.usage?.input_tokens);
          usage.outputTokens = num(data.message?.usage?.output_tokens);
        } else if (type === 'content_block_delta') {
          if (data.delta?.type === 'text_delta' && typeof data.delta.text === 'string') text += data.delta.text;
        } else if (type === 'message_delta') {
          if (typeof data.delta?.stop_reason === 'string') finish = data.delta.stop_reason;
          if (data.usage) usage.outputTokens = num(data.usage.output_tokens) || usage.outputTokens;
        } else if (type === 'message_stop') {
          stopped = true;
          break;
        } else if (type === 'error') {
          const e = data.error as { type?: unknown; message?: unknown } | undefined;
          const etype = typeof e?.type === 'string' ? e.type : 'error';
          const retryable = etype === 'overloaded_error' || etype === 'api_error' || etype === 'rate_limit_error';
          throw this.error(etype === 'rate_limit_error' ? 'EXPERTS_PROVIDER_RATE_LIMITED' : 'EXPERTS_PROVIDER_HTTP', `error in stream (${etype}): ${typeof e?.message === 'string' ? e.message : 'no message'}`, { retryable });
        }
      }
    } catch (err) {
      throw this.streamFailure(err, signal);
    }
    if (!stopped) throw this.cut('message_stop');
    return { text, usage, finish };
  }
}
