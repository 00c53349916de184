import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createEngine, type Engine, type EngineOptions } from '../../src/runtime/engine.js';

/** A fresh working directory for one test: its own data dir and config file. Removed by cleanup(). */
export function tempWorkdir(prefix = 'code-test-'): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const silentLogger = (): Logger => pino({ level: 'silent' });

/**
 * An engine on embedded defaults in `cwd` (a temp dir), with no environment but what is given:
 * tests never pick up the developer's CODE_* variables or codectl.yaml.
 */
export function testEngine(cwd: string, opts: EngineOptions = {}): Promise<Engine> {
  return createEngine({ cwd, env: {}, logger: silentLogger(), ...opts });
}
