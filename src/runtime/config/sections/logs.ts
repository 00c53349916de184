import { Type } from '../schema-builder.js';

/**
 * The log analyzer (src/capabilities/logs, README "Log analysis").
 *
 * `roots` defaults to none: POST /v1/logs/analyze reads files on the server's disk for whoever can
 * reach the API, so nothing is readable until an operator names the directories. (`./logs` as a
 * default would depend on the directory the server happened to start in, and would expose it
 * silently.) The CLI reads whatever paths its user gives it.
 */
export const logsSection = Type.Object(
  {
    roots: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      default: [],
      maxItems: 64,
      live: true,
      description: 'Directories POST /v1/logs/analyze may read (relative ones against the working directory; symlinks are followed and must stay inside). Empty: the endpoint refuses every path.',
    }),
    top: Type.Integer({ default: 10, minimum: 0, maximum: 1000, live: true, description: 'How many top normalised messages a report lists (a request may ask for another number).' }),
    chunkBytes: Type.Integer({ default: 1_048_576, minimum: 4096, maximum: 67_108_864, live: true, description: 'Read buffer per analysis, in bytes; also the longest line analysed whole (longer lines are cut and counted).' }),
    maxFiles: Type.Integer({ default: 1000, minimum: 1, maximum: 100_000, live: true, description: 'Most files one analysis may read, after glob expansion.' }),
    maxHours: Type.Integer({ default: 9600, minimum: 1, maximum: 1_000_000, live: true, description: 'Hour buckets kept in the histogram (9,600 ≈ 400 days); lines of further hours are counted as dropped.' }),
    maxErrorMinutes: Type.Integer({ default: 10_080, minimum: 1, maximum: 1_000_000, live: true, description: 'Minutes with errors kept in the error-rate series (10,080 = a week).' }),
  },
  { additionalProperties: false, default: {} },
);
