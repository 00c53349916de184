// `npm run bench -- AREA [args]` runs bench/AREA.ts. Each benchmark prints one JSON line per figure.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [area, ...rest] = process.argv.slice(2);
const areas = readdirSync('bench').filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3));
if (!area || !existsSync(`bench/${area}.ts`)) {
  console.error(`usage: npm run bench -- AREA   (areas: ${areas.join(', ')})`);
  process.exit(2);
}
const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${area}.ts`, ...rest], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
