import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as config from './config.js';
import * as consult from './consult.js';
import * as review from './review.js';
import * as flags from './flags.js';
import * as logs from './logs.js';
import * as spec from './spec.js';
import * as probe from './probe.js';
import * as check from './check.js';
import * as serve from './serve.js';
import * as top from './top.js';

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

/** Every codectl command, in --help order. Add one: import its module and append it. */
export const commands: CommandModule[] = [serve, config, flags, top, consult, review, logs, spec, probe, check];
