import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A cache worker process (helpers/worker.ts) and a typed call() over IPC. */
export class CacheWorker {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: { message: string } }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error?.message ?? 'worker call failed'));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker exited with ${code}`));
      this.pending.clear();
    });
  }

  static spawn(config: Record<string, unknown>): Promise<CacheWorker> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, CACHE_WORKER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cache worker did not start within 30 s')), 30_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`cache worker exited early (${code})`)));
      child.once('message', (m: { ready?: boolean; pid?: number }) => {
        clearTimeout(timer);
        if (m.ready) resolve(new CacheWorker(child, m.pid!));
      });
    });
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, ...args });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('close').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
