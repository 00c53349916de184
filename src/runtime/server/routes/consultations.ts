import type { FastifyInstance } from 'fastify';
import { ExpertsError } from '../../../capabilities/experts/errors.js';
import type { ConsultRequest } from '../../../capabilities/experts/service.js';
import { REQUEST_LIMITS } from '../../../capabilities/experts/service.js';
import { listConsultations } from '../../repositories/consultations.js';
import type { RouteOptions } from './index.js';
import { disconnectSignal } from '../disconnect.js';

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;
const recommendation = { type: 'object', properties: { text: str, rule: str }, required: ['text'] } as const;
const usage = { type: ['object', 'null'], properties: { inputTokens: { type: 'integer' }, outputTokens: { type: 'integer' } } } as const;

/** The JSON result of a consultation (issue 10), for the OpenAPI document and the serializer. */
export const consultationSchema = {
  $id: 'consultation',
  type: 'object',
  properties: {
    id: str,
    kind: { type: 'string', enum: ['question', 'review'] },
    question: str,
    choices: { type: ['array', 'null'], items: str },
    answer: nullableString,
    agreement: { type: 'number' },
    entropy: { type: 'number' },
    votes: {
      type: 'array',
      items: { type: 'object', properties: { answer: str, weight: { type: 'number' }, share: { type: 'number' }, count: { type: 'integer' }, experts: strings }, required: ['answer', 'weight', 'share', 'count', 'experts'] },
    },
    recommendations: {
      type: 'array',
      items: { type: 'object', properties: { text: str, supporters: strings, share: { type: 'number' }, majority: { type: 'boolean' }, rules: strings }, required: ['text', 'supporters', 'share', 'majority'] },
    },
    dissent: {
      type: 'object',
      properties: {
        experts: { type: 'array', items: { type: 'object', properties: { name: str, answer: str, confidence: { type: 'number' } }, required: ['name', 'answer', 'confidence'] } },
        recommendations: { type: 'array', items: { type: 'object', properties: { text: str, supporters: strings, share: { type: 'number' } }, required: ['text', 'supporters', 'share'] } },
      },
      required: ['experts', 'recommendations'],
    },
    experts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: str,
          kind: { type: 'string', enum: ['llm', 'builtin'] },
          status: { type: 'string', enum: ['ok', 'error', 'timeout', 'abstain', 'skipped'] },
          answer: nullableString,
          confidence: nullableNumber,
          latencyMs: { type: 'number' },
          error: nullableString,
          recommendations: { type: 'array', items: recommendation },
          rationale: nullableString,
          tokens: usage,
          costUsd: nullableNumber,
          attempts: { type: 'integer' },
        },
        required: ['name', 'status', 'answer', 'confidence', 'latencyMs', 'error'],
      },
    },
    degraded: { type: 'boolean' },
    causes: { type: 'array', items: { type: 'object', properties: { expert: str, kind: { type: 'string', enum: ['error', 'timeout', 'below-quorum'] }, reason: str }, required: ['kind', 'reason'] } },
    requested: { type: 'integer' },
    responded: { type: 'integer' },
    quorum: { type: 'boolean' },
    ranking: { type: ['array', 'null'], items: { type: 'object', properties: { name: str, points: { type: 'integer' }, ballots: { type: 'integer' } }, required: ['name', 'points', 'ballots'] } },
    durationMs: { type: 'number' },
    hash: str,
    cached: { type: 'boolean' },
    createdAt: { type: 'integer' },
  },
  required: ['id', 'question', 'answer', 'agreement', 'entropy', 'votes', 'recommendations', 'dissent', 'experts', 'degraded', 'requested', 'responded', 'durationMs'],
} as const;

const consultBody = {
  type: 'object',
  properties: {
    question: { type: 'string', minLength: 1, maxLength: REQUEST_LIMITS.questionChars, description: 'What to ask.' },
    kind: { type: 'string', enum: ['question', 'review'], default: 'question', description: 'review: context is a deployment review (spec, findings, probes, logs); choices default to approve / changes-requested.' },
    choices: { type: 'array', items: { type: 'string', minLength: 1, maxLength: REQUEST_LIMITS.choiceChars }, minItems: 2, maxItems: REQUEST_LIMITS.choices, description: 'When given, every answer is one of these.' },
    context: { description: 'Text or JSON given to every expert (at most 256 KiB).' },
    experts: { type: 'array', items: { type: 'string', maxLength: 63 }, maxItems: 32, description: 'Names of the experts to ask; all by default.' },
    peerRanking: { type: 'boolean', description: 'Run the peer-ranking round (overrides experts.peerRanking).' },
    fresh: { type: 'boolean', default: false, description: 'Do not answer from the cache.' },
  },
  required: ['question'],
  additionalProperties: false,
} as const;

const runningSchema = {
  type: 'object',
  properties: { id: str, state: { type: 'string', enum: ['running', 'failed'] }, startedAt: { type: 'integer' }, location: str, error: { type: 'object', properties: { code: str, message: str }, required: ['code', 'message'] } },
  required: ['id', 'state'],
} as const;

type Body = ConsultRequest & { wait?: boolean };

export default async function consultationRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  app.addSchema(consultationSchema);

  app.post<{ Body: Body }>('/v1/consultations', {
    schema: {
      tags: ['experts'],
      summary: 'Asks the circle of experts. Waits for the consensus (200), or with wait=false returns an id to poll (202).',
      body: { ...consultBody, properties: { ...consultBody.properties, wait: { type: 'boolean', default: true, description: 'Wait for the result (true) or return an id at once (false).' } } },
      response: { 200: { $ref: 'consultation#' }, 202: runningSchema },
    },
  }, async (req, reply) => {
    const { wait, ...request } = req.body;
    if (wait === false) {
      const { id } = engine.experts.start(request);
      return reply.code(202).header('location', `/v1/consultations/${id}`).send({ id, state: 'running', location: `/v1/consultations/${id}` });
    }
    return engine.experts.consult(request, { signal: disconnectSignal(reply) });
  });

  app.post<{ Body: { consultations: ConsultRequest[]; concurrency?: number } }>('/v1/consultations/batch', {
    schema: {
      tags: ['experts'],
      summary: 'Runs several consultations, a few at a time (experts.batchConcurrency); one failing does not fail the others.',
      body: {
        type: 'object',
        properties: { consultations: { type: 'array', items: consultBody, minItems: 1, maxItems: 1000 }, concurrency: { type: 'integer', minimum: 1, maximum: 64 } },
        required: ['consultations'],
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: { type: 'object', properties: { ok: { type: 'boolean' }, result: { $ref: 'consultation#' }, error: { type: 'object', properties: { code: str, message: str }, required: ['code', 'message'] } }, required: ['ok'] },
            },
          },
          required: ['items'],
        },
      },
    },
  }, async (req, reply) => {
    const items = await engine.experts.batch(req.body.consultations, { signal: disconnectSignal(reply), ...(req.body.concurrency ? { concurrency: req.body.concurrency } : {}) });
    return { items };
  });

  app.get<{ Params: { id: string } }>('/v1/consultations/:id', {
    schema: {
      tags: ['experts'],
      summary: 'A consultation: its result (200), or its state while it runs (202) or when it failed (200, state "failed").',
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] },
      response: { 200: { oneOf: [{ $ref: 'consultation#' }, runningSchema] }, 202: runningSchema },
    },
  }, async (req, reply) => {
    const state = await engine.experts.get(req.params.id);
    if (!state) throw new ExpertsError('EXPERTS_NOT_FOUND', `no consultation ${req.params.id}`, { id: req.params.id });
    if (state.state === 'done') return state.result;
    if (state.state === 'running') return reply.code(202).send({ id: state.id, state: 'running', startedAt: state.startedAt });
    return { id: state.id, state: 'failed', error: state.error };
  });

  app.delete<{ Params: { id: string } }>('/v1/consultations/:id', {
    schema: {
      tags: ['experts'],
      summary: 'Cancels a running background consultation (its experts are aborted); GET then shows it failed with EXPERTS_CANCELLED.',
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] },
      response: { 202: runningSchema },
    },
  }, async (req, reply) => {
    if (!engine.experts.cancel(req.params.id)) {
      const state = await engine.experts.get(req.params.id);
      throw new ExpertsError('EXPERTS_NOT_FOUND', state ? `consultation ${req.params.id} is not running (${state.state})` : `no consultation ${req.params.id}`, { id: req.params.id });
    }
    return reply.code(202).send({ id: req.params.id, state: 'running' });
  });

  app.get<{ Querystring: { limit: number; since?: number } }>('/v1/consultations', {
    schema: {
      tags: ['experts'],
      summary: 'The history of consultations, newest first.',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 }, since: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            consultations: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: str, createdAt: { type: 'integer' }, kind: str, question: str, answer: nullableString, agreement: { type: 'number' }, degraded: { type: 'boolean' }, requested: { type: 'integer' }, responded: { type: 'integer' }, durationMs: { type: 'number' }, cached: { type: 'boolean' } },
              },
            },
          },
          required: ['consultations'],
        },
      },
    },
  }, async (req) => ({ consultations: await listConsultations(engine.store, { limit: req.query.limit, ...(req.query.since !== undefined ? { since: req.query.since } : {}) }) }));

  app.get('/v1/experts', {
    schema: {
      tags: ['experts'],
      summary: 'The configured experts and the circle options in force.',
      response: {
        200: {
          type: 'object',
          properties: {
            experts: { type: 'array', items: { type: 'object', properties: { name: str, kind: str, fingerprint: str, weight: { type: 'number' } } } },
            options: { type: 'object', additionalProperties: true },
          },
          required: ['experts'],
        },
      },
    },
  }, async () => ({ experts: engine.experts.list(), options: engine.experts.options() }));
}
