import { isCodeError } from '../../../platform/errors.js';
import { ExpertsError, type ExpertsErrorCode } from '../errors.js';
import type { Usage } from '../types.js';
import { StreamLimitError, readText } from './streams.js';
import type { HttpTransport, TransportResponse } from './transport.js';

export type ProviderKind = 'openai' | 'anthropic' | 'ollama';

/** One provider entry of `experts.providers` in codectl.yaml. */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  model: string;
  /** Name of the environment variable holding the API key; the key itself never sits in config. */
  apiKeyEnv?: string;
  /** Stream the answer (SSE / NDJSON); default true. */
  stream?: boolean;
  /** Ask for a JSON reply where the protocol has a switch for it (OpenAI response_format, Ollama format). */
  jsonMode?: boolean;
  temperature?: number;
  maxTokens?: number;
  /** Vote weight multiplier (default 1). */
  weight?: number;
  /** Prices in USD per million tokens, for the estimated-cost metric. */
  pricing?: { inputPerMTok: number; outputPerMTok: number };
  /** Extra, non-secret headers (e.g. OpenRouter's HTTP-Referer). */
  headers?: Record<string, string>;
}

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  system: string;
  messages: readonly ChatMessage[];
  signal: AbortSignal;
}

export interface ChatReply {
  text: string;
  usage: Usage;
  /** Why generation stopped, as the provider says it (stop, length, end_turn...). */
  finish: string | null;
}

/** One chat completion over one protocol. Throws ExpertsError (never returns an invented reply). */
export interface ChatProvider {
  readonly name: string;
  readonly kind: ProviderKind;
  readonly model: string;
  readonly baseUrl: string;
  chat(req: ChatRequest): Promise<ChatReply>;
}

export interface ProviderDeps {
  transport: HttpTransport;
  /** Where API keys are read from (the process environment in the engine). */
  env: Readonly<Record<string, string | undefined>>;
}

export const RESPONSE_LIMITS = { maxTotalBytes: 4 * 1024 * 1024, maxLineBytes: 1024 * 1024, maxErrorBytes: 64 * 1024 } as const;

/** Shared plumbing of the three protocols: keys, errors with the key scrubbed out, status mapping. */
export abstract class BaseProvider implements ChatProvider {
  abstract readonly kind: ProviderKind;
  readonly name: string;
  readonly model: string;
  readonly baseUrl: string;
  protected readonly stream: boolean;
  protected readonly temperature: number;
  protected readonly maxTokens: number;
  protected readonly jsonMode: boolean;

  constructor(
    protected readonly config: ProviderConfig,
    protected readonly deps: ProviderDeps,
  ) {
    this.name = config.name;
    this.model = config.model;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.stream = config.stream ?? true;
    this.temperature = config.temperature ?? 0;
    this.maxTokens = config.maxTokens ?? 1024;
    this.jsonMode = config.jsonMode ?? true;
  }

  abstract chat(req: ChatRequest): Promise<ChatReply>;

  /** The key from the environment, or undefined when the provider needs none; throws when it is named but unset. */
  protected apiKey(): string | undefined {
    const envName = this.config.apiKeyEnv;
    if (!envName) return undefined;
    const key = this.deps.env[envName];
    if (!key) throw this.error('EXPERTS_PROVIDER_NO_KEY', `environment variable ${envName} is not set`, { retryable: false, env: envName });
    return key;
  }

  protected error(code: ExpertsErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): ExpertsError {
    return new ExpertsError(code, `${this.name}: ${this.scrub(message)}`, { provider: this.name, ...details }, cause === undefined ? undefined : { cause });
  }

  /** Removes the API key from any text that may be logged or returned (upstream errors sometimes echo it). */
  protected scrub(text: string): string {
    const envName = this.config.apiKeyEnv;
    const key = envName ? this.deps.env[envName] : undefined;
    let out = key && key.length >= 4 ? text.split(key).join('***') : text;
    if (out.length > 500) out = `${out.slice(0, 500)}…`;
    return out;
  }

  /** Sends a JSON POST; maps network failures to EXPERTS_PROVIDER_NETWORK, and rethrows aborts as they are. */
  protected async post(url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): Promise<TransportResponse> {
    try {
      return await this.deps.transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...(this.config.headers ?? {}), ...headers },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      // The client's own refusals (an open per-origin breaker, a full connection queue) are not worth
      // an immediate retry; anything else on the way is.
      const code = isCodeError(err) ? err.code : undefined;
      const refused = code === 'RESILIENCE_BREAKER_OPEN' || code === 'RESILIENCE_BULKHEAD_FULL' || code === 'RESILIENCE_BULKHEAD_WAIT' || code === 'NET_CLOSED';
      throw this.error('EXPERTS_PROVIDER_NETWORK', `cannot reach ${url}: ${(err as Error).message}`, { retryable: !refused, ...(code ? { cause: code } : {}) }, err);
    }
  }

  /** Turns a non-2xx response into an error, with the provider's own message when it sent one. */
  protected async failed(res: TransportResponse, signal: AbortSignal): Promise<never> {
    let text = '';
    try {
      text = await readText(res.body, RESPONSE_LIMITS.maxErrorBytes);
    } catch (err) {
      if (signal.aborted) throw err;
    }
    const message = providerErrorMessage(text) ?? (text.trim().slice(0, 200) || 'no body');
    const retryAfter = header(res.headers, 'retry-after');
    const retryAfterMs = retryAfter !== undefined ? parseRetryAfter(retryAfter) : undefined;
    if (res.status === 429) {
      throw this.error('EXPERTS_PROVIDER_RATE_LIMITED', `HTTP 429: ${message}`, { status: 429, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    }
    const retryable = res.status >= 500 || res.status === 408 || res.status === 409;
    throw this.error('EXPERTS_PROVIDER_HTTP', `HTTP ${res.status}: ${message}`, { status: res.status, retryable });
  }

  /** Reads a whole JSON body. */
  protected async json(res: TransportResponse, signal: AbortSignal): Promise<unknown> {
    let text: string;
    try {
      text = await readText(res.body, RESPONSE_LIMITS.maxTotalBytes);
    } catch (err) {
      throw this.streamFailure(err, signal);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw this.error('EXPERTS_PROVIDER_BAD_RESPONSE', `the response body is not JSON: ${text.slice(0, 120)}`, { retryable: false });
    }
  }

  /** Maps an error thrown while reading a body: abort stays, size limit, otherwise a cut connection. */
  protected streamFailure(err: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return err;
    if (err instanceof ExpertsError) return err;
    if (err instanceof StreamLimitError) return this.error('EXPERTS_PROVIDER_TOO_LARGE', err.message, { retryable: false });
    return this.error('EXPERTS_PROVIDER_STREAM_CUT', `the response was cut: ${(err as Error).message}`, { retryable: true }, err);
  }

  protected cut(what: string): ExpertsError {
    return this.error('EXPERTS_PROVIDER_STREAM_CUT', `the stream ended before ${what}`, { retryable: true });
  }

  protected badJson(line: string): ExpertsError {
    return this.error('EXPERTS_PROVIDER_BAD_RESPONSE', `a stream event is not JSON: ${line.slice(0, 120)}`, { retryable: false });
  }
}

function header(headers: TransportResponse['headers'], name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function parseRetryAfter(v: string): number | undefined {
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 3_600_000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, Math.min(at - Date.now(), 3_600_000)) : undefined;
}

/** The message in the error bodies of the three protocols: `{error:{message}}`, `{type:'error',error:{message}}`, `{error:"..."}`. */
export function providerErrorMessage(text: string): string | undefined {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const e = o.error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && typeof (e as Record<string, unknown>).message === 'string') return (e as Record<string, unknown>).message as string;
    if (typeof o.message === 'string') return o.message;
  } catch {
    // not JSON
  }
  return undefined;
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}
