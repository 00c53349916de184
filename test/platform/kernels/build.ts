// Test helper: makes sure build/kernels/kernels.wasm exists by running the real build step
// (scripts/build-steps/10-kernels.mjs), instead of skipping when nobody ran `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_WASM_URL } from '../../../src/platform/kernels/index.js';

const STEP = new URL('../../../scripts/build-steps/10-kernels.mjs', import.meta.url);

export async function ensureKernelsBuilt(): Promise<void> {
  if (existsSync(fileURLToPath(DEFAULT_WASM_URL))) return;
  const mod = (await import(pathToFileURL(fileURLToPath(STEP)).href)) as { default: (o?: { quiet?: boolean }) => Promise<string | null> };
  const out = await mod.default({ quiet: true });
  if (out === null || !existsSync(fileURLToPath(DEFAULT_WASM_URL))) throw new Error('the kernels build step did not produce build/kernels/kernels.wasm');
}
