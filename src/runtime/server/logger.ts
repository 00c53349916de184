import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';

/**
 * fastify's logger: the engine's own, with a `child()` that returns itself. fastify otherwise builds a
 * pino child per request (or, given a custom child factory, checks the logger's methods per request);
 * error lines carry the request id explicitly instead. Derived, not copied: it follows the engine's
 * level when the config changes it.
 */
export function requestLogger(log: Logger): FastifyBaseLogger {
  const logger = Object.create(log) as FastifyBaseLogger;
  logger.child = function child(this: FastifyBaseLogger) {
    return this;
  };
  return logger;
}
