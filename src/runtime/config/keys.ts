import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.js';

/** One configurable leaf key, as the README reference and the env overrides see it. */
export interface ConfigKey {
  path: string;
  segments: string[];
  env: string;
  type: string;
  default: unknown;
  description: string;
  live: boolean;
  schema: TSchema;
}

/** `l1MaxItems` → `L1_MAX_ITEMS`. */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toUpperCase();
}

function typeName(s: TSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return `${typeName(s.items as TSchema)}[]`;
  if (s.anyOf) return (s.anyOf as TSchema[]).map(typeName).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  return String(s.type ?? 'any');
}

function isSection(s: TSchema): boolean {
  return s.type === 'object' && s.properties !== undefined && s.additionalProperties === false;
}

function walk(schema: TSchema, segments: string[], out: ConfigKey[]): void {
  for (const [name, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const path = [...segments, name];
    if (isSection(child)) {
      walk(child, path, out);
      continue;
    }
    out.push({
      path: path.join('.'),
      segments: path,
      env: `CODE_${path.map(envSegment).join('_')}`,
      type: typeName(child),
      default: child.default,
      description: String(child.description ?? ''),
      live: child.live === true,
      schema: child,
    });
  }
}

let cached: ConfigKey[] | undefined;

/** Every leaf key of the config schema, in schema order. */
export function configKeys(): ConfigKey[] {
  if (!cached) {
    cached = [];
    walk(ConfigSchema, [], cached);
  }
  return cached;
}

/** Allowed child names at a dotted object path ('' is the root), for "did you mean". */
export function allowedKeysAt(path: string[]): string[] {
  let s: TSchema | undefined = ConfigSchema;
  for (const seg of path) s = (s?.properties as Record<string, TSchema> | undefined)?.[seg];
  return s?.properties ? Object.keys(s.properties as object) : [];
}
