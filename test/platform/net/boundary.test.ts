import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

// The lint rule that keeps every outbound HTTP call on src/platform/net: proven to fire (and to stay
// quiet where it must), through the project's real eslint.config.js.
const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('outbound HTTP boundary (eslint.config.js)', () => {
  it('refuses undici, node:http(s), http2 and global fetch in src/ outside src/platform/net', async () => {
    for (const mod of ['undici', 'node:http', 'node:https', 'node:http2', 'http', 'https']) {
      const ids = await ruleIds(`import * as m from '${mod}';\nexport const x = m;\n`, 'src/capabilities/probe/health.ts');
      assert.ok(ids.includes('@typescript-eslint/no-restricted-imports'), `${mod} must be refused, got ${ids.join(', ')}`);
    }
    const ids = await ruleIds(`export async function f(): Promise<unknown> {\n  return fetch('http://127.0.0.1/');\n}\n`, 'src/runtime/server/routes/x.ts');
    assert.ok(ids.includes('no-restricted-globals'), `fetch must be refused, got ${ids.join(', ')}`);
  });

  it('has no exemption left outside src/platform/net: the expert transport too', async () => {
    const ids = await ruleIds(`import { request } from 'undici';\nexport const r = request;\n`, 'src/capabilities/experts/providers/transport.ts');
    assert.ok(ids.includes('@typescript-eslint/no-restricted-imports'), `got ${ids.join(', ')}`);
  });

  it('allows them in src/platform/net, in tests and benches, and type-only imports anywhere', async () => {
    assert.deepEqual(await ruleIds(`import { Pool } from 'undici';\nexport const p = Pool;\n`, 'src/platform/net/extra.ts'), []);
    assert.deepEqual(await ruleIds(`import { Pool } from 'undici';\nexport const p = Pool;\n`, 'test/platform/x.test.ts'), []);
    assert.deepEqual(await ruleIds(`import http from 'node:http';\nexport const h = http;\n`, 'bench/x.ts'), []);
    assert.deepEqual(await ruleIds(`import type { ServerResponse } from 'node:http';\nexport type R = ServerResponse;\n`, 'src/runtime/server/routes/y.ts'), []);
  });
});
