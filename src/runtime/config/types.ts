import type { SchemaOptions, TUnsafe } from '@sinclair/typebox';
import { Type } from './schema-builder.js';

/** A string enum that compiles to JSON Schema `enum` (clear errors: "must be one of …"). */
export function StringEnum<const T extends readonly string[]>(values: T, opts: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...opts, type: 'string', enum: [...values] });
}
