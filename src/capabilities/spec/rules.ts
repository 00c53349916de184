import type { Severity } from './types.js';

/** Every rule a finding can carry, with its severity and what it means. Docs and tests read this table. */
export const RULES = {
  'syntax': { severity: 'error', description: 'The text is not valid YAML, JSON or TOML.' },
  'limit.depth': { severity: 'error', description: 'Mappings and sequences nest deeper than limits.maxDepth.' },
  'limit.aliases': { severity: 'error', description: 'YAML aliases expand to more than limits.maxNodes nodes (a "billion laughs" document).' },
  'limit.nodes': { severity: 'error', description: 'The documents hold more than limits.maxNodes nodes.' },
  'limit.documents': { severity: 'error', description: 'More YAML documents than limits.maxDocuments.' },
  'limit.findings': { severity: 'error', description: 'More findings than limits.maxFindings; the rest were dropped.' },
  'schema.type': { severity: 'error', description: 'A value has the wrong type (a mapping where a list belongs, text where a number belongs...).' },
  'schema.required': { severity: 'error', description: 'A required key is missing (services; health.port for an HTTP check).' },
  'schema.unknown-key': { severity: 'warning', description: 'A key the spec does not know; suggests the closest known key. Keys starting with x- are extensions and never flagged.' },
  'schema.unsafe-key': { severity: 'error', description: 'A key named __proto__, constructor or prototype.' },
  'service.name': { severity: 'error', description: 'A service name that is not 1-63 letters, digits, dot, dash or underscore.' },
  'service.duplicate': { severity: 'error', description: 'The same service is declared in two documents.' },
  'global.duplicate': { severity: 'warning', description: 'A global key is set in two documents; the later one wins.' },
  'host.invalid': { severity: 'error', description: 'A host that is neither an IP address nor a valid host name.' },
  'replicas.positive': { severity: 'error', description: 'replicas is not a positive integer.' },
  'units.cpu': { severity: 'error', description: 'cpu cannot be read; use millicores (250m) or cores (0.5, 2).' },
  'units.memory': { severity: 'error', description: 'memory cannot be read; use 512Mi, 1Gi, 1G, 128M or bytes.' },
  'resources.cpu-min': { severity: 'error', description: 'cpu is below 100m.' },
  'resources.memory-min': { severity: 'error', description: 'memory is below 128Mi.' },
  'ports.range': { severity: 'error', description: 'A port is not an integer from 1 to 65535.' },
  'ports.duplicate': { severity: 'error', description: 'A service lists the same port twice.' },
  'ports.conflict': { severity: 'error', description: 'Two services on the same host use the same port.' },
  'health.invalid': { severity: 'error', description: 'A health check must be { tcp: PORT } or { http: PATH, port: PORT }.' },
  'health.port-undeclared': { severity: 'warning', description: 'The health check port is not among the service ports.' },
  'environment.name': { severity: 'warning', description: 'An environment variable name that is not letters, digits and underscores.' },
  'environment.secret': { severity: 'warning', description: 'An environment value looks like a secret committed in clear; use a reference such as ${NAME}.' },
  'logs.path': { severity: 'error', description: 'A log path that is empty or not text.' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

export type RuleId = keyof typeof RULES;
