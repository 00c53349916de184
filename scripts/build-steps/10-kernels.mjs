// Build step (run by `npm run build`, hence by `prepare` at install): compiles the AssemblyScript
// kernels in src/platform/kernels/assembly/ to build/kernels/kernels.wasm with SIMD enabled.
// No binary is committed; src/platform/kernels/load.ts falls back to the JS twins when the file
// is missing or does not load, and says why once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = join(root, 'src', 'platform', 'kernels', 'assembly', 'index.ts');
const outDir = join(root, 'build', 'kernels');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');

/** Compiles the kernels; skips the work when the .wasm is newer than its source (pass force to redo). */
export default async function buildKernels({ force = false, quiet = false } = {}) {
  const out = join(outDir, 'kernels.wasm');
  if (!force && existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) return out;
  if (!existsSync(asc)) {
    // A production install without devDependencies: the JS twins serve.
    if (!quiet) console.warn('kernels: assemblyscript is not installed; WASM kernels not built (JS fallback will serve)');
    return null;
  }
  mkdirSync(outDir, { recursive: true });
  execFileSync(
    process.execPath,
    [asc, source, '--outFile', out, '--enable', 'simd', '--runtime', 'stub', '-O3', '--noAssert', '--initialMemory', '2'],
    { cwd: root, stdio: quiet ? 'pipe' : 'inherit' },
  );
  if (!quiet) console.log(`kernels: built ${out.slice(root.length + 1)}`);
  return out;
}
