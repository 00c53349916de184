// Build at install (`prepare`) and on demand: TypeScript to dist/, then every step in scripts/build-steps/
// in name order (WASM kernels, dashboard assets, ...). A step is a module exporting `default async function`.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const step of readdirSync('scripts/build-steps').filter((f) => f.endsWith('.mjs')).sort()) {
  const mod = await import(pathToFileURL(join('scripts/build-steps', step)).href);
  await mod.default();
}
