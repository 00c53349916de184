#!/usr/bin/env -S node --max-semi-space-size=2
// A 2 MB young generation: the idle server's RSS drops by ~30 MB (V8 otherwise grows the semi-spaces
// to 16 MB each under the first bursts of allocation) for ~1-2% more scavenging under load (bench/server.ts).
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// `serve` keeps the process alive through its server; other commands end here.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
