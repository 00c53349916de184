import type * as TB from '@sinclair/typebox';

/**
 * The nine TypeBox builders the config sections use, as plain functions: the same JSON Schema
 * objects (without TypeBox's symbol keys, which nothing here reads) and the same static types
 * (`Static<typeof section>` still comes from TypeBox, as types only). The TypeBox runtime costs
 * ~1.7 MB of heap for 200 modules, loaded by every process for nine object literals.
 * test/runtime/config/schema-builder.test.ts checks the output equals TypeBox's.
 */
const OPTIONAL = Symbol('optional');

type Options = TB.SchemaOptions;

function Integer(opts: TB.IntegerOptions = {}): TB.TInteger {
  return { ...opts, type: 'integer' } as unknown as TB.TInteger;
}
function NumberSchema(opts: TB.NumberOptions = {}): TB.TNumber {
  return { ...opts, type: 'number' } as unknown as TB.TNumber;
}
function StringSchema(opts: TB.StringOptions = {}): TB.TString {
  return { ...opts, type: 'string' } as unknown as TB.TString;
}
function BooleanSchema(opts: Options = {}): TB.TBoolean {
  return { ...opts, type: 'boolean' } as unknown as TB.TBoolean;
}
function ArraySchema<T extends TB.TSchema>(items: T, opts: TB.ArrayOptions = {}): TB.TArray<T> {
  return { ...opts, type: 'array', items } as unknown as TB.TArray<T>;
}
function Optional<T extends TB.TSchema>(schema: T): TB.TOptional<T> {
  return Object.defineProperty({ ...schema }, OPTIONAL, { value: true, enumerable: false }) as unknown as TB.TOptional<T>;
}
function ObjectSchema<T extends TB.TProperties>(properties: T, opts: TB.ObjectOptions = {}): TB.TObject<T> {
  const required = Object.keys(properties).filter((k) => !(properties[k] as unknown as Record<symbol, unknown>)[OPTIONAL]);
  return { ...opts, type: 'object', ...(required.length > 0 ? { required } : {}), properties } as unknown as TB.TObject<T>;
}
function RecordSchema<V extends TB.TSchema>(_key: TB.TString, value: V, opts: Options = {}): TB.TRecord<TB.TString, V> {
  return { ...opts, type: 'object', patternProperties: { '^(.*)$': value } } as unknown as TB.TRecord<TB.TString, V>;
}
function Unsafe<T>(schema: Options = {}): TB.TUnsafe<T> {
  return { ...schema } as unknown as TB.TUnsafe<T>;
}

export const Type = {
  Array: ArraySchema,
  Boolean: BooleanSchema,
  Integer,
  Number: NumberSchema,
  Object: ObjectSchema,
  Optional,
  Record: RecordSchema,
  String: StringSchema,
  Unsafe,
};
