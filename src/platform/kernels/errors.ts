import { CodeError } from '../errors.js';

export type KernelErrorCode = 'KERNEL_INPUT_INVALID' | 'KERNEL_INPUT_TOO_LARGE';

/** Bad arguments to a kernel (mismatched lengths, a percentile outside 0..100, an oversized input). */
export class KernelError extends CodeError<KernelErrorCode> {}
