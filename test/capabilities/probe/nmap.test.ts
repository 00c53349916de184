// The open ports we find equal nmap's (-sT, a TCP connect scan like ours) on the same ports:
// listeners this test opens on 127.0.0.1 and ::1, one that accepts slowly, one closed port, and a
// few well-known ports of the machine (the test Redis and PostgreSQL among them).
// nmap is a test dependency: .ci/apt-packages installs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Prober } from '../../../src/capabilities/probe/index.js';
import { closedPort, listen, slowListener, type Listener } from './helpers.js';

const run = promisify(execFile);

async function nmapOpen(address: string, ports: readonly number[]): Promise<Set<number>> {
  const args = ['-sT', '-n', '-Pn', '-T4', '-p', ports.join(','), '-oX', '-', ...(address.includes(':') ? ['-6'] : []), address];
  const { stdout } = await run('nmap', args, { timeout: 60_000, maxBuffer: 16 << 20 });
  const open = new Set<number>();
  for (const m of stdout.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([a-z|]+)"/g)) if (m[2] === 'open') open.add(Number(m[1]));
  assert.match(stdout, /<nmaprun /, 'nmap produced its XML report');
  return open;
}

const listeners: Listener[] = [];
before(async () => {
  listeners.push(await listen('127.0.0.1'), await listen('127.0.0.1', 'hello\r\n'), await slowListener('127.0.0.1', 2000));
  listeners.push(await listen('::1'), await slowListener('::1', 2000));
});
after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

for (const address of ['127.0.0.1', '::1']) {
  test(`open ports equal nmap -sT on ${address}`, async () => {
    const mine = listeners.filter((l) => l.host === address).map((l) => l.port);
    const closed = await closedPort(address);
    const ports = [...new Set([...mine, closed, 22, 80, 443, 5432, 6379, 1])].sort((a, b) => a - b);
    const prober = new Prober({ cacheTtlMs: 0 });
    const ours = await prober.scan({ targets: [address], ports, timeoutMs: 2000 });
    const oursOpen = new Set(ours.results.filter((r) => r.state === 'open').map((r) => r.port));
    const theirs = await nmapOpen(address, ports);
    assert.deepEqual([...oursOpen].sort((a, b) => a - b), [...theirs].sort((a, b) => a - b));
    // And the set is what the test built: every listener open, the closed port closed.
    for (const p of mine) assert.ok(oursOpen.has(p), `listener ${p} open`);
    assert.equal(ours.results.find((r) => r.port === closed)!.state, 'closed');
  });
}
