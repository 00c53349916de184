// PostgreSQL crashes and comes back during a write load (a private cluster, never the machine's
// server): no acknowledged write is lost, callers get clear errors while it is down, and the pool is
// healthy again within 30 s of the server being back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { isCodeError } from '../../../src/platform/errors.js';
import { PostgresStore } from '../../../src/platform/store/postgres.js';
import { startPrivateCluster } from './_cluster.js';
import type { PrivateCluster } from './_cluster.js';

let cluster: PrivateCluster;
before(async () => {
  cluster = await startPrivateCluster();
});
after(async () => {
  await cluster?.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BATCH = 50;

test('PostgreSQL restarted under write load: no acknowledged write lost, clear errors, healthy within 30 s', async () => {
  const store = new PostgresStore({ url: cluster.url, poolMax: 4, connectTimeoutMs: 2_000 });
  try {
    await store.migrate([
      { id: 'restart/001', up: 'CREATE TABLE singles (id TEXT PRIMARY KEY, worker INTEGER NOT NULL);\nCREATE TABLE batches (batch TEXT NOT NULL, seq INTEGER NOT NULL)' },
    ]);

    const acked = new Set<string>();
    const ackedBatches = new Set<string>();
    const attemptedBatches = new Set<string>();
    const errors: { code: string; message: string; phase: string }[] = [];
    const unexpected: unknown[] = [];
    let phase: 'before' | 'down' | 'back' = 'before';
    let running = true;
    let firstSuccessAfterBack: number | undefined;
    let backAt = 0;
    const succeeded = () => {
      if (phase === 'back' && firstSuccessAfterBack === undefined) firstSuccessAfterBack = performance.now();
    };
    const failed = (err: unknown) => {
      if (isCodeError(err) && err.code.startsWith('STORE_') && err.message.length > 0) errors.push({ code: err.code, message: err.message, phase });
      else unexpected.push(err);
    };

    // Single-row writers, a bulk writer (COPY chunks) and a transactional writer, six callers on four connections.
    const single = async (worker: number) => {
      for (let seq = 0; running; seq++) {
        const id = `w${worker}-${seq}`;
        try {
          await store.run('INSERT INTO singles (id, worker) VALUES (?, ?)', [id, worker]);
          acked.add(id);
          succeeded();
        } catch (err) {
          failed(err);
          await sleep(5);
        }
      }
    };
    const bulk = async () => {
      for (let b = 0; running; b++) {
        const batch = `bulk-${b}`;
        attemptedBatches.add(batch);
        try {
          await store.insertMany('batches', ['batch', 'seq'], Array.from({ length: BATCH }, (_, i) => [batch, i]), { chunkSize: BATCH });
          ackedBatches.add(batch);
          succeeded();
        } catch (err) {
          failed(err);
          await sleep(5);
        }
      }
    };
    const txWriter = async () => {
      for (let b = 0; running; b++) {
        const batch = `tx-${b}`;
        attemptedBatches.add(batch);
        try {
          await store.transaction(async (tx) => {
            for (let i = 0; i < 5; i++) await tx.run('INSERT INTO batches (batch, seq) VALUES (?, ?)', [batch, i]);
          });
          ackedBatches.add(batch);
          succeeded();
        } catch (err) {
          failed(err);
          await sleep(5);
        }
      }
    };
    const load = Promise.all([single(1), single(2), single(3), single(4), bulk(), txWriter()]);

    await sleep(600);
    const ackedBefore = acked.size;
    assert.ok(ackedBefore > 0, 'writes succeeded before the crash');
    phase = 'down';
    await cluster.stop('immediate');
    await sleep(1_500);
    const errorsWhileDown = errors.filter((e) => e.phase === 'down').length;
    await cluster.start();
    backAt = performance.now();
    phase = 'back';
    for (let i = 0; i < 600 && firstSuccessAfterBack === undefined; i++) await sleep(50);
    await sleep(500);
    running = false;
    await load;

    assert.deepEqual(unexpected, [], 'every failure was a StoreError');
    assert.ok(errorsWhileDown > 0, 'callers saw errors while the server was down');
    const downCodes = new Set(errors.filter((e) => e.phase === 'down').map((e) => e.code));
    assert.ok(downCodes.has('STORE_UNAVAILABLE'), `codes while down: ${[...downCodes].join(', ')}`);
    for (const code of downCodes) assert.ok(['STORE_UNAVAILABLE', 'STORE_POOL_EXHAUSTED'].includes(code), `unclear error code ${code}`);
    assert.ok(firstSuccessAfterBack !== undefined, 'writes succeed again after the restart');
    const recoveryMs = firstSuccessAfterBack - backAt;
    assert.ok(recoveryMs < 30_000, `pool healthy ${recoveryMs.toFixed(0)} ms after the server came back`);
    assert.ok(acked.size > ackedBefore, 'writes acknowledged after the restart');

    // Every acknowledged write is there, read through a connection of our own.
    const check = new pg.Client({ connectionString: cluster.url });
    await check.connect();
    try {
      const ids = new Set((await check.query<{ id: string }>('SELECT id FROM singles')).rows.map((r) => r.id));
      const lost = [...acked].filter((id) => !ids.has(id));
      assert.deepEqual(lost, [], `${lost.length} acknowledged single writes lost`);
      const counts = new Map((await check.query<{ batch: string; n: string }>('SELECT batch, COUNT(*) AS n FROM batches GROUP BY batch')).rows.map((r) => [r.batch, Number(r.n)]));
      for (const b of ackedBatches) assert.equal(counts.get(b), b.startsWith('bulk') ? BATCH : 5, `acknowledged batch ${b} complete`);
      // A batch that failed is there whole (committed, then the connection died before the ack) or not at all.
      for (const [b, n] of counts) {
        assert.ok(attemptedBatches.has(b));
        assert.equal(n, b.startsWith('bulk') ? BATCH : 5, `batch ${b} is whole`);
      }
    } finally {
      await check.end();
    }

    const s = store.stats().pool;
    assert.equal(s.inUse, 0);
    assert.equal(s.breaker, 'closed');
    assert.ok(s.total <= 4);
    await store.ping();
    console.log(JSON.stringify({ acked: acked.size, ackedBatches: ackedBatches.size, errors: errors.length, errorsWhileDown, recoveryMs: Math.round(recoveryMs), opened: s.opened, closed: s.closed, samples: [...new Set(errors.map((e) => `${e.code}: ${e.message.slice(0, 90)}`))].slice(0, 6) }));
  } finally {
    await store.close();
  }
});
