import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isCodeError } from '../../platform/errors.js';
import { errorEntry } from '../errors/catalogue.js';

/** RFC 9457 problem details, with our stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  requestId: string;
  details?: Record<string, unknown>;
}

export const problemSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

function title(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

/** Fastify's own errors, mapped onto our catalogue. */
function fromFastify(err: FastifyError): { code: string; detail: string } | undefined {
  if (err.validation) return { code: 'REQUEST_INVALID', detail: `${err.validationContext ?? 'request'} ${err.message.replace(/^(body|querystring|params|headers)\s*/, '')}` };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'REQUEST_TOO_LARGE', detail: err.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'REQUEST_INVALID', detail: err.message };
    default:
      if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return { code: 'REQUEST_INVALID', detail: `the body is not valid JSON: ${err.message}` };
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return { code: 'REQUEST_INVALID', detail: err.message };
      return undefined;
  }
}

/** A problem for a code of the catalogue, without an error object. */
export function problemFor(code: string, detail: string, req: FastifyRequest): Problem {
  return { type: `urn:code-engine:error:${code}`, title: title(code), status: errorEntry(code).status, detail, code, instance: req.url, requestId: String(req.id) };
}

export function toProblem(err: unknown, req: FastifyRequest): Problem {
  let code = 'ENGINE_INTERNAL';
  let detail = 'internal error; the server log has the details (request id below)';
  let details: Record<string, unknown> | undefined;
  if (isCodeError(err)) {
    code = err.code;
    detail = err.message;
    details = err.details;
  } else {
    const mapped = fromFastify(err as FastifyError);
    if (mapped) ({ code, detail } = mapped);
  }
  const entry = errorEntry(code);
  return {
    type: `urn:code-engine:error:${code}`,
    title: title(code),
    status: entry.status,
    detail,
    code,
    instance: req.url,
    requestId: String(req.id),
    ...(details ? { details } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
