#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --expose-gc
// The same start as `npm start` (package.json; bench/server.ts measures that one):
// - a 2 MB young generation: idle RSS ~30 MB lower (V8 otherwise grows the semi-spaces to 16 MB each
//   under the first bursts of allocation) for ~1-2% more scavenging under load;
// - --expose-gc: `serve` collects the start-up garbage once it listens, and the memory monitor's GC
//   responder can act under pressure;
// - two glibc malloc arenas instead of one per thread: ~3 MB less RSS, the V8 and libuv worker
//   threads allocate little.
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// `serve` keeps the process alive through its server; other commands end here.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
