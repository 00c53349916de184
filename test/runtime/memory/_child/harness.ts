/** Starts the memory test child and reads its JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MemoryEvent } from '../../../../src/platform/memory/types.js';

export interface Child {
  proc: ChildProcess;
  url: string;
  events: Array<{ event: MemoryEvent; t: number }>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startChild(opts: { heapMb: number; semiSpaceMb?: number; exposeGc?: boolean; memory: Record<string, unknown>; cacheMax?: number }): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'code-mem-child-'));
  const args = [`--max-old-space-size=${opts.heapMb}`, ...(opts.semiSpaceMb ? [`--max-semi-space-size=${opts.semiSpaceMb}`] : []), ...(opts.exposeGc ? ['--expose-gc'] : []), '--import', 'tsx', new URL('./server.ts', import.meta.url).pathname];
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, NODE_OPTIONS: '', CHILD_DIR: dir, CHILD_MEMORY: JSON.stringify(opts.memory), CHILD_CACHE_MAX: String(opts.cacheMax ?? 400) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (err.length < 100_000) err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));
  const events: Child['events'] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start in 60 s: ${err}`)), 60_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { port?: number; event?: MemoryEvent; t?: number };
      if (msg.port !== undefined) {
        clearTimeout(timer);
        resolve(msg.port);
      } else if (msg.event) events.push({ event: msg.event, t: msg.t! });
    });
    void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before listening: ${err}`)));
  });
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    events,
    stderr: () => err,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export async function post(url: string, body: unknown): Promise<{ status: number; retryAfter: string | null; code?: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ...(res.status >= 400 ? { code: (JSON.parse(text) as { code?: string }).code } : {}) };
}

export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
