import type { FastifyInstance } from 'fastify';
import { DEFAULT_SPEC_LIMITS, listRules, validateSpec, type SpecFormat } from '../../../capabilities/spec/index.js';
import type { RouteOptions } from './index.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;

/** A spec finding (src/capabilities/spec/types.ts); inline (no $id), so other plugins can embed it. */
export const findingSchema = {
  type: 'object',
  properties: {
    file: str,
    line: int,
    column: int,
    path: str,
    rule: str,
    severity: { type: 'string', enum: ['error', 'warning'] },
    message: str,
  },
  required: ['file', 'line', 'column', 'path', 'rule', 'severity', 'message'],
} as const;

/** The body of every route that takes a spec. */
export const specInput = {
  spec: { type: 'string', minLength: 1, maxLength: DEFAULT_SPEC_LIMITS.maxBytes, description: 'The spec text: YAML (several documents allowed), JSON or TOML.' },
  file: { type: 'string', minLength: 1, maxLength: 500, description: 'A name for findings; its extension picks the format.' },
  format: { type: 'string', enum: ['yaml', 'json', 'toml'], description: 'Default: from the file name, else sniffed.' },
} as const;

export interface SpecBody {
  spec: string;
  file?: string;
  format?: SpecFormat;
}

export default async function specRoutes(app: FastifyInstance, { engine: _engine }: RouteOptions): Promise<void> {
  app.post<{ Body: SpecBody }>('/v1/specs/validate', {
    schema: {
      tags: ['specs'],
      summary: 'Parses and validates a deployment spec: every finding with file, line, column, path, rule, severity and message, in one pass.',
      body: { type: 'object', properties: specInput, required: ['spec'], additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            valid: { type: 'boolean' },
            format: { type: 'string', enum: ['yaml', 'json', 'toml'] },
            findings: { type: 'array', items: findingSchema },
            spec: { type: ['object', 'null'], additionalProperties: true, description: 'The spec with units parsed (cpu in cores, memory in bytes) and defaults applied; null when it did not parse.' },
          },
          required: ['valid', 'format', 'findings', 'spec'],
        },
      },
    },
  }, async (req) => {
    const r = validateSpec(req.body.spec, { file: req.body.file ?? '<request>', ...(req.body.format ? { format: req.body.format } : {}) });
    return { valid: r.valid, format: r.format, findings: r.findings, spec: r.spec ?? null };
  });

  app.get('/v1/specs/rules', {
    schema: {
      tags: ['specs'],
      summary: 'Every rule a finding can carry, with its severity.',
      response: { 200: { type: 'object', properties: { rules: { type: 'array', items: { type: 'object', properties: { rule: str, severity: str, description: str }, required: ['rule', 'severity', 'description'] } } }, required: ['rules'] } },
    },
  }, async () => ({ rules: listRules() }));
}
