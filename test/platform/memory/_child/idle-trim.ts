// Child for idle-trim.test.ts (run with --expose-gc): grows the young generation with a burst of
// allocation, then idles under a real monitor with the idle trimmer, and prints what happened.
import { createMemoryControl } from '../../../../src/platform/memory/control.js';
import { youngGenerationBytes } from '../../../../src/platform/memory/idle-trim.js';

const grown = (): number => {
  // Short-lived objects with some survivors: V8 grows the semi-spaces toward their maximum.
  let keep: Array<Array<{ i: number; s: string }>> = [];
  const until = Date.now() + 400;
  while (Date.now() < until) {
    const a: Array<{ i: number; s: string }> = [];
    for (let i = 0; i < 1000; i++) a.push({ i, s: `x${i}` });
    keep.push(a);
    if (keep.length > 50) keep = [];
  }
  return youngGenerationBytes();
};

const afterBurst = grown();
const control = createMemoryControl({ intervalMs: 200, idleTrim: { afterMs: Number(process.env.AFTER_MS ?? 5500) }, gc: { enabled: false } });
const trims: Array<{ beforeBytes: number; afterBytes: number; at: number }> = [];
const started = Date.now();
control.monitor.on((e) => {
  if (e.type === 'trim') trims.push({ beforeBytes: e.beforeBytes, afterBytes: e.afterBytes, at: e.at - started });
});
control.monitor.start();
setTimeout(() => {
  const young = youngGenerationBytes();
  void control.close().then(() => {
    process.stdout.write(`${JSON.stringify({ afterBurst, young, trims, youngAtLastSample: control.monitor.snapshot().sample?.youngCommitted })}\n`);
  });
}, Number(process.env.RUN_MS ?? 8000));
