import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../../src/platform/store/sqlite.js';
import { TSX_LOADER } from '../../helpers/cli.js';
import { tempWorkdir } from '../../helpers/engine.js';

const WRITER = `
import { SqliteStore } from ${JSON.stringify(new URL('../../../src/platform/store/sqlite.ts', import.meta.url).href)};
const store = new SqliteStore({ path: process.argv[2] });
await store.migrate([{ id: 't/001', up: 'CREATE TABLE acks (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)' }]);
for (let i = 1; ; i++) {
  await store.run('INSERT INTO acks (id, payload) VALUES (?, ?)', [i, 'x'.repeat(200)]);
  process.stdout.write(i + '\\n'); // acknowledged only after the commit returned
}
`;

test('SQLite: kill -9 during writes loses no committed write', async (t) => {
  const w = tempWorkdir();
  t.after(w.cleanup);
  const db = join(w.dir, 'durable.db');
  const script = w.write('writer.mjs', WRITER);
  const child = spawn(process.execPath, ['--import', TSX_LOADER, script, db], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let acked = 0;
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise((r) => child.on('exit', r));
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited by itself (${code}) after ${acked} writes: ${stderr}`));
    });
    child.stdout.on('data', (c: Buffer) => {
      buffer += c;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      if (lines.length) acked = Number(lines[lines.length - 1]);
      if (acked >= 500 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await exited;
  const store = new SqliteStore({ path: db });
  t.after(() => store.close());
  const [row] = await store.query<{ n: number; max: number }>('SELECT COUNT(*) AS n, MAX(id) AS max FROM acks');
  assert.ok(row!.max >= acked, `every acknowledged write (${acked}) is there (found up to ${row!.max})`);
  assert.equal(row!.n, row!.max, 'no gaps');
  assert.equal((await store.query<{ integrity_check: string }>('PRAGMA integrity_check'))[0]!.integrity_check, 'ok');
});
