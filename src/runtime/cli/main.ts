#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --expose-gc
// The same start as `npm start` (package.json; bench/server.ts measures that one):
// - --expose-gc: `serve` collects the start-up garbage once it listens, the memory monitor gives the
//   young generation back once the server idles (src/platform/memory/idle-trim.ts: V8 grows it to
//   32 MB under load and keeps it), and the GC responder can act under pressure;
// - two glibc malloc arenas instead of one per thread: ~3 MB less RSS, the V8 and libuv worker
//   threads allocate little.
// process.nextTick is primed before the program loads (src/runtime/prime-ticks.ts says why).
import { primeNextTick } from '../prime-ticks.js';

await primeNextTick();
const { runCli } = await import('./program.js');
const code = await runCli(process.argv.slice(2));
// `serve` keeps the process alive through its server; other commands end here.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
