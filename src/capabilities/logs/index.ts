export { analyzeLogs, DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_TOP } from './analyze.js';
export { LogsError } from './errors.js';
export type { LogsErrorCode } from './errors.js';
export { normalizeMessage, hashNormalized } from './normalize.js';
export { expandGlob, isGlob, resolveSources } from './sources.js';
export { LOG_FORMATS, LOG_LEVELS } from './types.js';
export type { AnalyzeOptions, ErrorRate, FileReport, HourBucket, LogFormat, LogLevel, LogReport, TopMessage } from './types.js';
export { createLogsService } from './service.js';
export type { AnalyzeRequest, LogsService, LogsSettings } from './service.js';
