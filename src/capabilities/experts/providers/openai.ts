import { BaseProvider, RESPONSE_LIMITS, num } from './provider.js';
import type { ChatReply, ChatRequest } from './provider.js';
import { sseEvents } from './streams.js';

/**
 * OpenAI-compatible chat completions (`POST {baseUrl}/chat/completions`): OpenAI, OpenRouter, Groq,
 * DeepSeek, Gemini's OpenAI endpoint, vLLM, LM Studio, llama.cpp server, Ollama's /v1. Streams over
 * SSE (`data: {...}` chunks, closed by `data: [DONE]`).
 */
export class OpenAiProvider extends BaseProvider {
  readonly kind = 'openai' as const;

  async chat(req: ChatRequest): Promise<ChatReply> {
    const key = this.apiKey();
    const body: Record<string, unknown> = {
      model: this.model,
      messages: [{ role: 'system', content: req.system }, ...req.messages],
      temperature: this.temperature,
      max_tokens: this.maxTokens,
      stream: this.stream,
    };
    if (this.stream) body.stream_options = { include_usage: true };
    if (this.jsonMode) body.response_format = { type: 'json_object' };
    const headers: Record<string, string> = { accept: this.stream ? 'text/event-stream' : 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await this.post(`${this.baseUrl}/chat/completions`, headers, body, req.signal);
    if (res.status < 200 || res.status >= 300) return this.failed(res, req.signal);
    return this.stream ? this.readStream(res.body, req.signal) : this.readWhole(await this.json(res, req.signal));
  }

  private readWhole(raw: unknown): ChatReply {
    const o = raw as { choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }>; usage?: Record<string, unknown>; error?: unknown };
    const choice = Array.isArray(o?.choices) ? o.choices[0] : undefined;
    const content = choice?.message?.content;
    if (typeof content !== 'string') throw this.error('EXPERTS_PROVIDER_BAD_RESPONSE', 'the response has no choices[0].message.content', { retryable: false });
    return {
      text: content,
      usage: { inputTokens: num(o.usage?.prompt_tokens), outputTokens: num(o.usage?.completion_tokens) },
      finish: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
    };
  }

  private async readStream(body: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<ChatReply> {
    let text = '';
    let finish: string | null = null;
    let done = false;
    const usage = { inputTokens: 0, outputTokens: 0 };
    try {
      for await (const ev of sseEvents(body, RESPONSE_LIMITS)) {
        if (ev.data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: Record<string, unknown>;
        try {
          chunk = JSON.parse(ev.data) as Record<string, unknown>;
        } catch {
          throw this.badJson(ev.data);
        }
        if (chunk.error) {
          const e = chunk.error as { message?: unknown };
          throw this.error('EXPERTS_PROVIDER_HTTP', `error in stream: ${typeof e.message === 'string' ? e.message : JSON.stringify(chunk.error)}`, { retryable: true });
        }
        const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as { delta?: { content?: unknown }; finish_reason?: unknown } | undefined) : undefined;
        const delta = choice?.delta?.content;
        if (typeof delta === 'string') text += delta;
        if (typeof choice?.finish_reason === 'string') finish = choice.finish_reason;
        const u = chunk.usage as Record<string, unknown> | undefined | null;
        if (u) {
          usage.inputTokens = num(u.prompt_tokens);
          usage.outputTokens = num(u.completion_tokens);
        }
      }
    } catch (err) {
      throw this.streamFailure(err, signal);
    }
    if (!done && finish === null) throw this.cut('[DONE]');
    return { text, usage, finish };
  }
}
