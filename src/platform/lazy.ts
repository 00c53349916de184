import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded at its first use instead of at start-up: for parsers and codecs that
 * many runs of the engine never touch (an idle server carries neither their source nor their code).
 *
 *   import type * as JsYaml from 'js-yaml';
 *   const jsyaml = lazyRequire<typeof JsYaml>('js-yaml');
 *   jsyaml().loadAll(text, ...);
 */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
