import type { FastifyInstance } from 'fastify';
import { LOG_FORMATS, LOG_LEVELS } from '../../../capabilities/logs/index.js';
import type { LogReport } from '../../../capabilities/logs/index.js';
import type { RouteOptions } from './index.js';
import { disconnectSignal } from '../disconnect.js';

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const counts = (keys: readonly string[]) => ({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, int])), required: [...keys] }) as const;
const topMessage = {
  type: 'object',
  properties: { message: str, count: int, maxError: int, level: { type: 'string', enum: [...LOG_LEVELS] } },
  required: ['message', 'count', 'maxError', 'level'],
} as const;

/** The JSON of a LogReport (src/capabilities/logs/types.ts), for the OpenAPI document and the serializer. */
export const logReportSchema = {
  $id: 'logReport',
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['full', 'levels'] },
    files: { type: 'array', items: { type: 'object', properties: { path: str, bytes: int, lines: int, gzip: { type: 'boolean' } }, required: ['path', 'bytes', 'lines', 'gzip'] } },
    bytes: int,
    lines: int,
    blank: int,
    malformed: int,
    truncated: int,
    levels: counts(LOG_LEVELS),
    formats: counts(LOG_FORMATS),
    firstTimestamp: nullableStr,
    lastTimestamp: nullableStr,
    untimed: int,
    hourly: { type: 'array', items: { type: 'object', properties: { hour: str, lines: int, errors: int, warnings: int }, required: ['hour', 'lines', 'errors', 'warnings'] } },
    hoursDropped: int,
    errorRate: {
      type: 'object',
      properties: {
        errors: int,
        minutes: num,
        perMinute: num,
        peak: { type: ['object', 'null'], properties: { minute: str, errors: int }, required: ['minute', 'errors'] },
        series: { type: 'array', items: { type: 'object', properties: { minute: str, errors: int }, required: ['minute', 'errors'] } },
        minutesDropped: int,
      },
      required: ['errors', 'minutes', 'perMinute', 'peak', 'series', 'minutesDropped'],
    },
    top: { type: 'array', items: topMessage },
    topProblems: { type: 'array', items: topMessage },
    kernel: { type: 'string', enum: ['wasm', 'js'] },
    durationMs: num,
  },
  required: ['mode', 'files', 'bytes', 'lines', 'blank', 'malformed', 'truncated', 'levels', 'formats', 'firstTimestamp', 'lastTimestamp', 'untimed', 'hourly', 'hoursDropped', 'errorRate', 'top', 'topProblems', 'kernel', 'durationMs'],
} as const;

const analyzeBody = {
  type: 'object',
  properties: {
    paths: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 4096 },
      minItems: 1,
      maxItems: 256,
      description: 'Files or globs (*, ?, [..], {a,b}, **) inside logs.roots; relative ones resolve against the first root. gzip is detected by content.',
    },
    mode: { type: 'string', enum: ['full', 'levels'], default: 'full', description: 'levels: level counts only (the fast path).' },
    top: { type: 'integer', minimum: 0, maximum: 1000, description: 'How many top messages to list (default logs.top).' },
    year: { type: 'integer', minimum: 1970, maximum: 9999, description: 'Year of syslog lines, which carry none (default: the current year).' },
  },
  required: ['paths'],
  additionalProperties: false,
} as const;

interface Body {
  paths: string[];
  mode?: 'full' | 'levels';
  top?: number;
  year?: number;
}

export default async function logRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.addSchema(logReportSchema);

  app.post<{ Body: Body }>('/v1/logs/analyze', {
    schema: {
      tags: ['logs'],
      summary: 'Analyses log files under logs.roots: counts per level, hourly histogram, error rate per minute, top normalised messages.',
      description: 'A path outside logs.roots (symlinks followed) is refused with LOGS_PATH_DENIED (403); with no roots configured every path is.',
      body: analyzeBody,
      response: { 200: { $ref: 'logReport#' } },
    },
  }, async (req, reply): Promise<LogReport> => {
    const { paths, mode, top, year } = req.body;
    return engine.logs.analyzeConfined(paths, {
      ...(mode ? { mode } : {}),
      ...(top !== undefined ? { top } : {}),
      ...(year !== undefined ? { year } : {}),
      signal: disconnectSignal(reply),
    });
  });
}
