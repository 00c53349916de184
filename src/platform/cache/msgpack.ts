import type * as Msgpackr from 'msgpackr';
import { lazyRequire } from '../lazy.js';

const msgpackr = lazyRequire<typeof Msgpackr>('msgpackr');

/**
 * A Packr made at its first use: msgpackr (and its native extension) loads when a value is first
 * encoded or decoded, not when a cache is built that may never hold anything.
 */
export function lazyPackr(options: Msgpackr.Options): () => Msgpackr.Packr {
  let packr: Msgpackr.Packr | undefined;
  return () => (packr ??= new (msgpackr().Packr)(options));
}
