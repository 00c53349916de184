// Child process for kill9.test.ts: one long insertMany (1,000-row chunks, slowed by a trigger) until
// it is killed. Usage: node --import tsx _bulk-child.ts sqlite PATH | postgres URL SCHEMA copy|insert
import { PostgresStore } from '../../../src/platform/store/postgres.js';
import { SqliteStore } from '../../../src/platform/store/sqlite.js';
import type { Store } from '../../../src/platform/store/types.js';

const [dialect, where, schema, method] = process.argv.slice(2);
const store: Store =
  dialect === 'sqlite'
    ? new SqliteStore({ path: where! })
    : new PostgresStore({ url: where!, schema, poolMax: 2, useCopy: method === 'copy', applicationName: 'bulk-child' });

const CHUNK = 1_000;
function* rows() {
  for (let i = 0; i < 1_000_000; i++) yield [Math.floor(i / CHUNK), i, `row ${i}`] as const;
}
process.stdout.write('started\n');
await store.insertMany('bulk', ['batch', 'seq', 'body'], rows(), { chunkSize: CHUNK });
process.stdout.write('finished\n'); // never reached in the test: the parent kills us first
await store.close();
