import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type as TypeBox } from '@sinclair/typebox';
import { Type } from '../../../src/runtime/config/schema-builder.js';
import { ConfigSchema } from '../../../src/runtime/config/schema.js';

// TypeBox marks its schemas with symbol keys; JSON (what ajv, the docs and the key walker read) does not carry them.
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('the config schema builder', () => {
  it('builds the same JSON Schema as TypeBox for every builder the sections use', () => {
    const cases: Array<[string, unknown, unknown]> = [
      ['Integer', Type.Integer({ default: 5, minimum: 1, maximum: 10, live: true, description: 'd' } as never), TypeBox.Integer({ default: 5, minimum: 1, maximum: 10, live: true, description: 'd' } as never)],
      ['Number', Type.Number({ default: 0.5, exclusiveMinimum: 0 }), TypeBox.Number({ default: 0.5, exclusiveMinimum: 0 })],
      ['String', Type.String({ minLength: 1, maxLength: 9, default: 'x' }), TypeBox.String({ minLength: 1, maxLength: 9, default: 'x' })],
      ['Boolean', Type.Boolean({ default: true }), TypeBox.Boolean({ default: true })],
      ['Array', Type.Array(Type.String({ minLength: 1 }), { default: [], maxItems: 4 }), TypeBox.Array(TypeBox.String({ minLength: 1 }), { default: [], maxItems: 4 })],
      ['Record', Type.Record(Type.String(), Type.Integer()), TypeBox.Record(TypeBox.String(), TypeBox.Integer())],
      ['Unsafe', Type.Unsafe<'a' | 'b'>({ type: 'string', enum: ['a', 'b'], default: 'a' }), TypeBox.Unsafe<'a' | 'b'>({ type: 'string', enum: ['a', 'b'], default: 'a' })],
      [
        'Object with optional keys',
        Type.Object({ a: Type.Integer(), b: Type.Optional(Type.String()), c: Type.Object({ d: Type.Boolean() }, { default: {} }) }, { additionalProperties: false, default: {} }),
        TypeBox.Object({ a: TypeBox.Integer(), b: TypeBox.Optional(TypeBox.String()), c: TypeBox.Object({ d: TypeBox.Boolean() }, { default: {} }) }, { additionalProperties: false, default: {} }),
      ],
      ['Object of optional keys only', Type.Object({ x: Type.Optional(Type.Integer()) }), TypeBox.Object({ x: TypeBox.Optional(TypeBox.Integer()) })],
    ];
    for (const [name, ours, theirs] of cases) assert.deepEqual(plain(ours), plain(theirs), name);
  });

  it('leaves no marker in the schema ajv and the docs read', () => {
    const optional = Type.Optional(Type.String());
    assert.deepEqual(Object.keys(optional), ['type']);
    assert.ok(JSON.stringify(ConfigSchema).length > 1000);
    assert.equal(Object.getOwnPropertySymbols(ConfigSchema).length, 0);
  });
});
