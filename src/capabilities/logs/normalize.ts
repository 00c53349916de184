// Message normalisation for the top-N: the masked-text rule of the platform kernels (numbers, ids
// and hex become `#`, see src/platform/kernels/masked.ts). The analyzer hashes messages in place with
// its line scanner's `hash` (WASM or JS) and renders only the winners with `normalizeMessage`.
export { maskedHash as hashNormalized, maskText as normalizeMessage } from '../../platform/kernels/masked.js';

/** Longest message prefix that takes part in the key; the rest of a long message is ignored. */
export const MAX_MESSAGE_BYTES = 512;
