export { HttpClient, HttpResponse } from './client.js';
export type { Http2Switch, HttpClientOptions, HttpClientStats, OriginStats, RequestOptions } from './client.js';
export { batch, batchStream } from './batch.js';
export type { BatchOptions, IndexedSettled, Settled, TaskContext } from './batch.js';
export { NetError, isNetError } from './errors.js';
export type { NetErrorCode } from './errors.js';
