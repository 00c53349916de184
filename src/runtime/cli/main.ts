#!/usr/bin/env node
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// `serve` keeps the process alive through its server; other commands end here.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
