import { BaseProvider, RESPONSE_LIMITS, num } from './provider.js';
import type { ChatReply, ChatRequest } from './provider.js';
import { ndjson } from './streams.js';

/**
 * Ollama's native chat API (`POST {baseUrl}/api/chat`). Streams newline-delimited JSON objects, the
 * last one carrying `done: true` and the token counts (prompt_eval_count, eval_count).
 */
export class OllamaProvider extends BaseProvider {
  readonly kind = 'ollama' as const;

  async chat(req: ChatRequest): Promise<ChatReply> {
    const key = this.apiKey();
    const body: Record<string, unknown> = {
      model: this.model,
      messages: [{ role: 'system', content: req.system }, ...req.messages],
      stream: this.stream,
      options: { temperature: this.temperature, num_predict: this.maxTokens },
    };
    if (this.jsonMode) body.format = 'json';
    const headers: Record<string, string> = { accept: this.stream ? 'application/x-ndjson' : 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await this.post(`${this.baseUrl}/api/chat`, headers, body, req.signal);
    if (res.status < 200 || res.status >= 300) return this.failed(res, req.signal);
    if (!this.stream) {
      const o = (await this.json(res, req.signal)) as Record<string, any>;
      if (typeof o?.error === 'string') throw this.error('EXPERTS_PROVIDER_HTTP', o.error, { retryable: true });
      if (typeof o?.message?.content !== 'string') throw this.error('EXPERTS_PROVIDER_BAD_RESPONSE', 'the response has no message.content', { retryable: false });
      return { text: o.message.content, usage: { inputTokens: num(o.prompt_eval_count), outputTokens: num(o.eval_count) }, finish: typeof o.done_reason === 'string' ? o.done_reason : null };
    }
    let text = '';
    let done = false;
    let finish: string | null = null;
    const usage = { inputTokens: 0, outputTokens: 0 };
    try {
      const it = ndjson(res.body, RESPONSE_LIMITS);
      while (true) {
        let next: IteratorResult<unknown>;
        try {
          next = await it.next();
        } catch (err) {
          if (err instanceof SyntaxError) throw this.error('EXPERTS_PROVIDER_BAD_RESPONSE', `a stream line is not JSON: ${err.message}`, { retryable: false });
          throw err;
        }
        if (next.done) break;
        const o = next.value as Record<string, any>;
        if (typeof o?.error === 'string') throw this.error('EXPERTS_PROVIDER_HTTP', `error in stream: ${o.error}`, { retryable: true });
        if (typeof o?.message?.content === 'string') text += o.message.content;
        if (o?.done === true) {
          done = true;
          usage.inputTokens = num(o.prompt_eval_count);
          usage.outputTokens = num(o.eval_count);
          finish = typeof o.done_reason === 'string' ? o.done_reason : null;
          await it.return(undefined);
          break;
        }
      }
    } catch (err) {
      throw this.streamFailure(err, req.signal);
    }
    if (!done) throw this.cut('the final "done" line');
    return { text, usage, finish };
  }
}
