/**
 * The dashboard's static files, built at install into dist/dashboard by
 * scripts/build-steps/20-dashboard.mjs (our page + uPlot copied from node_modules: no CDN, works
 * offline). Read once into memory on first use; bounded in count and size.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DashboardError } from './errors.js';

/** The package root: three levels above this file, from src/runtime/dashboard and from dist/runtime/dashboard alike. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DASHBOARD_DIR = join(ROOT, 'dist', 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};
const MAX_FILES = 50;
const MAX_BYTES = 5 * 1024 * 1024;

export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
    if (out.length > MAX_FILES) throw new DashboardError('DASHBOARD_NOT_BUILT', `${dir} holds more than ${MAX_FILES} files; is it the dashboard build?`, { dir });
  }
}

let cache: Map<string, Asset> | undefined;

/** path relative to dist/dashboard (`index.html`, `vendor/uPlot.iife.min.js`) → asset. */
export function dashboardAssets(dir = DASHBOARD_DIR): Map<string, Asset> {
  if (cache && dir === DASHBOARD_DIR) return cache;
  if (!existsSync(join(dir, 'index.html'))) {
    throw new DashboardError('DASHBOARD_NOT_BUILT', `the dashboard is not built (${join(dir, 'index.html')} is missing): run \`npm run build\``, { dir });
  }
  const files: string[] = [];
  walk(dir, files);
  const out = new Map<string, Asset>();
  let total = 0;
  for (const file of files) {
    const type = TYPES[extname(file)];
    if (type === undefined) continue;
    const body = readFileSync(file);
    total += body.length;
    if (total > MAX_BYTES) throw new DashboardError('DASHBOARD_NOT_BUILT', `the dashboard build in ${dir} is larger than ${MAX_BYTES} bytes`, { dir });
    out.set(relative(dir, file).split(sep).join('/'), { type, body, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
  }
  if (dir === DASHBOARD_DIR) cache = out;
  return out;
}
