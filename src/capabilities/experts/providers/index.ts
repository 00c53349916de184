import { ExpertsError } from '../errors.js';
import { AnthropicProvider } from './anthropic.js';
import { OllamaProvider } from './ollama.js';
import { OpenAiProvider } from './openai.js';
import type { ChatProvider, ProviderConfig, ProviderDeps } from './provider.js';

export { AnthropicProvider, OllamaProvider, OpenAiProvider };
export type { ChatMessage, ChatProvider, ChatReply, ChatRequest, ProviderConfig, ProviderDeps, ProviderKind } from './provider.js';
export { netTransport } from './transport.js';
export type { HttpTransport, NetClientLike, TransportRequest, TransportResponse } from './transport.js';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

/** Checks one provider entry; throws EXPERTS_CONFIG_INVALID naming the key. */
export function validateProviderConfig(c: ProviderConfig, where = 'experts.providers'): void {
  const bad = (key: string, why: string): never => {
    throw new ExpertsError('EXPERTS_CONFIG_INVALID', `${where}.${key}: ${why}`, { key: `${where}.${key}` });
  };
  if (typeof c.name !== 'string' || !NAME.test(c.name)) bad('name', 'must be 1-63 letters, digits, "_", "-" or "."');
  if (!['openai', 'anthropic', 'ollama'].includes(c.kind)) bad('kind', 'must be one of openai, anthropic, ollama');
  let url: URL | undefined;
  try {
    url = new URL(c.baseUrl);
  } catch {
    bad('baseUrl', `is not a URL: ${JSON.stringify(c.baseUrl)}`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') bad('baseUrl', 'must be http(s)');
  if (url && (url.username || url.password)) bad('baseUrl', 'must not carry credentials; use apiKeyEnv');
  if (typeof c.model !== 'string' || c.model.length === 0 || c.model.length > 200) bad('model', 'must be a non-empty string');
  if (c.apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(c.apiKeyEnv)) bad('apiKeyEnv', 'must be an environment variable name');
  if (c.temperature !== undefined && !(c.temperature >= 0 && c.temperature <= 2)) bad('temperature', 'must be from 0 to 2');
  if (c.maxTokens !== undefined && !(Number.isInteger(c.maxTokens) && c.maxTokens > 0 && c.maxTokens <= 200_000)) bad('maxTokens', 'must be an integer from 1 to 200000');
  if (c.weight !== undefined && !(c.weight > 0 && c.weight <= 100)) bad('weight', 'must be above 0 and at most 100');
  for (const h of Object.keys(c.headers ?? {})) {
    if (/^(authorization|x-api-key|api-key|cookie)$/i.test(h)) bad(`headers.${h}`, 'secrets go in the environment (apiKeyEnv), not in config');
  }
}

/** Builds the provider for one config entry. */
export function createProvider(config: ProviderConfig, deps: ProviderDeps): ChatProvider {
  validateProviderConfig(config);
  switch (config.kind) {
    case 'openai':
      return new OpenAiProvider(config, deps);
    case 'anthropic':
      return new AnthropicProvider(config, deps);
    case 'ollama':
      return new OllamaProvider(config, deps);
  }
}
