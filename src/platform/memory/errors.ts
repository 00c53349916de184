import { CodeError } from '../errors.js';

/**
 * - `MEMORY_CONFIG_INVALID`: a monitor option is out of range (details name the key).
 * - `MEMORY_SOURCE_INVALID`: a cgroup or /proc file does not parse (details name the file and line).
 *   The sampler never throws it: it records the error, reports the reading as missing and goes on.
 */
export type MemoryErrorCode = 'MEMORY_CONFIG_INVALID' | 'MEMORY_SOURCE_INVALID';

export class MemoryError extends CodeError<MemoryErrorCode> {}
