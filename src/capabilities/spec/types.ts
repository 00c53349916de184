/** One problem found in a spec, located in its source text. Lines and columns start at 1. */
export interface Finding {
  file: string;
  line: number;
  column: number;
  /** Where in the document, e.g. `services.web.ports[1]`; `` for the whole document. */
  path: string;
  /** Stable rule id, e.g. `ports.duplicate` (see RULES). */
  rule: string;
  severity: Severity;
  message: string;
}

export type Severity = 'error' | 'warning';
export type SpecFormat = 'yaml' | 'json' | 'toml';

/** Bounds on what a spec may cost to read. Every bound fails with a finding or a SpecError, never a crash. */
export interface SpecLimits {
  /** Largest input in bytes (UTF-8). Default 1 MiB. */
  maxBytes: number;
  /** Deepest nesting of mappings and sequences. Default 32. */
  maxDepth: number;
  /** Most nodes after alias expansion, over all documents (the "billion laughs" guard). Default 100,000. */
  maxNodes: number;
  /** Most YAML documents in one input. Default 64. */
  maxDocuments: number;
  /** Most findings reported; the rest are counted in one last finding. Default 1,000. */
  maxFindings: number;
}

export const DEFAULT_SPEC_LIMITS: Readonly<SpecLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxNodes: 100_000,
  maxDocuments: 64,
  maxFindings: 1000,
});

export type HealthCheck = { kind: 'tcp'; port: number } | { kind: 'http'; path: string; port: number };

/** A service after validation, with units parsed and defaults applied. */
export interface ServiceSpec {
  name: string;
  host: string;
  replicas: number;
  /** Cores (250m → 0.25); undefined when not declared. */
  cpu: number | undefined;
  /** Bytes (512Mi → 536870912); undefined when not declared. */
  memory: number | undefined;
  ports: number[];
  environment: Record<string, string>;
  health: HealthCheck | undefined;
  logs: string[];
}

export interface GlobalSpec {
  host: string;
  replicas: number;
  cpu: number | undefined;
  memory: number | undefined;
  environment: Record<string, string>;
  /** Per-attempt probe timeout a check uses for this spec, in ms. */
  timeoutMs: number | undefined;
}

export interface DeploymentSpec {
  name: string | undefined;
  global: GlobalSpec;
  services: ServiceSpec[];
}

export interface SpecReport {
  /** False when any finding is an error. */
  valid: boolean;
  format: SpecFormat;
  findings: Finding[];
  /** The normalized spec; present whenever the input parsed (even with findings). */
  spec: DeploymentSpec | undefined;
}

export interface ValidateOptions {
  /** Name shown in findings; default `<input>`. */
  file?: string;
  /** Default: from the file extension, else sniffed from the text. */
  format?: SpecFormat;
  limits?: Partial<SpecLimits>;
}
