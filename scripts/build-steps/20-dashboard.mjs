// Build step (run by `npm run build`, hence by `prepare` at install): assembles the dashboard in
// dist/dashboard from src/runtime/dashboard/public plus uPlot from node_modules (a dependency, so it
// is there in production installs too). The page then loads nothing from the network but the
// engine it is served by: no CDN, works offline.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = join(root, 'src', 'runtime', 'dashboard', 'public');
const outDir = join(root, 'dist', 'dashboard');

/** Copy then rename: a server (or a parallel test) reading the folder never sees half a file. */
function install(src, dest) {
  const tmp = `${dest}.${process.pid}.tmp`;
  copyFileSync(src, tmp);
  renameSync(tmp, dest);
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyTree(src, join(to, name));
    else install(src, join(to, name));
  }
}

/** Builds dist/dashboard; returns its path. `quiet` silences the summary line (tests). */
export default async function buildDashboard({ quiet = false } = {}) {
  const require = createRequire(join(root, 'package.json'));
  // uPlot's package.json has no exports map for its dist files: locate the package, then the files.
  const uplotDir = dirname(require.resolve('uplot/package.json'));
  const vendor = [
    [join(uplotDir, 'dist', 'uPlot.iife.min.js'), 'uPlot.iife.min.js'],
    [join(uplotDir, 'dist', 'uPlot.min.css'), 'uPlot.min.css'],
  ];
  for (const [file] of vendor) if (!existsSync(file)) throw new Error(`dashboard: ${file} is missing; is the uplot package installed?`);
  copyTree(source, outDir);
  mkdirSync(join(outDir, 'vendor'), { recursive: true });
  for (const [file, name] of vendor) install(file, join(outDir, 'vendor', name));
  if (!quiet) console.log(`dashboard: built ${outDir.slice(root.length + 1)} (uPlot vendored, no CDN)`);
  return outDir;
}
