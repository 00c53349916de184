import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import { MemorySampler } from '../../../src/platform/memory/sampler.js';
import {
  locateCgroup,
  oldGenerationLimit,
  parseCgroupValue,
  parseMeminfo,
  parseProcSelfCgroup,
  readCgroup,
  readSmallFile,
  type SourcePaths,
} from '../../../src/platform/memory/sources.js';

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'code-mem-src-'));
after(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function paths(dir: string): SourcePaths {
  return { cgroupV2Root: join(dir, 'v2'), cgroupV1MemoryRoot: join(dir, 'v1'), procSelfCgroup: join(dir, 'self-cgroup'), meminfo: join(dir, 'meminfo') };
}

const MEMINFO = `MemTotal:        8000000 kB
MemFree:          100000 kB
MemAvailable:    2000000 kB
Buffers:           50000 kB
Cached:           300000 kB
SwapTotal:       1000000 kB
SwapFree:         250000 kB
HugePages_Total:       0
`;

function invalidAt(fn: () => unknown, file: string, line: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasCode(err, 'MEMORY_SOURCE_INVALID'), String(err));
    assert.equal(err.details?.file, file);
    assert.equal(err.details?.line, line);
    assert.match(err.message, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:${line}`));
    return true;
  });
}

describe('parsers', () => {
  test('cgroup values: bytes, "max" and the v1 no-limit sentinel', () => {
    assert.equal(parseCgroupValue('536870912\n', 'memory.max'), 536870912);
    assert.equal(parseCgroupValue('max\n', 'memory.max'), null);
    assert.equal(parseCgroupValue('9223372036854771712\n', 'memory.limit_in_bytes'), null);
    invalidAt(() => parseCgroupValue('12 MB', 'memory.max'), 'memory.max', 1);
    invalidAt(() => parseCgroupValue('', 'memory.current'), 'memory.current', 1);
  });

  test('meminfo: bytes, swap, and the MemAvailable fallback of old kernels', () => {
    const m = parseMeminfo(MEMINFO, '/proc/meminfo');
    assert.deepEqual(m, { memTotal: 8000000 * 1024, memAvailable: 2000000 * 1024, swapTotal: 1000000 * 1024, swapFree: 250000 * 1024 });
    const old = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n', 'mi');
    assert.equal(old.memAvailable, 310 * 1024);
    assert.equal(old.swapTotal, 0);
  });

  test('meminfo: a bad line or a missing MemTotal names file and line', () => {
    invalidAt(() => parseMeminfo('MemTotal: 1000 kB\nMemFree 12 kB\n', '/x/meminfo'), '/x/meminfo', 2);
    invalidAt(() => parseMeminfo('MemFree: 12 kB\n', '/x/meminfo'), '/x/meminfo', 1);
  });

  test('/proc/self/cgroup: v2, v1 and hybrid layouts', () => {
    assert.deepEqual(parseProcSelfCgroup('0::/system.slice/app.service\n', 'c'), { v2: '/system.slice/app.service', v1Memory: null });
    // The layout of a v1 host with a unified mount alongside (what this machine has).
    const hybrid = '9:name=systemd:/\n4:memory:/process_api/362ef\n3:cpuset:/\n0::/\n';
    assert.deepEqual(parseProcSelfCgroup(hybrid, 'c'), { v2: '/', v1Memory: '/process_api/362ef' });
    assert.deepEqual(parseProcSelfCgroup('5:cpu,memory,pids:/kube/pod1\n', 'c'), { v2: null, v1Memory: '/kube/pod1' });
    invalidAt(() => parseProcSelfCgroup('0::/\ngarbage\n', 'c'), 'c', 2);
    invalidAt(() => parseProcSelfCgroup('4:memory:relative\n', 'c'), 'c', 1);
  });

  test('reads are bounded: a file larger than the limit is refused, a missing one is null', () => {
    const dir = tree('big', { huge: 'x'.repeat(5000) });
    assert.throws(() => readSmallFile(join(dir, 'huge'), 4096), (e: unknown) => hasCode(e, 'MEMORY_SOURCE_INVALID'));
    assert.equal(readSmallFile(join(dir, 'huge'), 8192)?.length, 5000);
    assert.equal(readSmallFile(join(dir, 'nope')), null);
  });
});

describe('cgroup location and reading', () => {
  test('v2: our own group directory, working set = current − inactive_file, swap', () => {
    const dir = tree('v2-nested', {
      'self-cgroup': '0::/kubepods/pod-a\n',
      'v2/memory.max': 'max\n',
      'v2/kubepods/pod-a/memory.max': `${512 * MiB}\n`,
      'v2/kubepods/pod-a/memory.current': `${300 * MiB}\n`,
      'v2/kubepods/pod-a/memory.stat': `anon ${200 * MiB}\nfile ${100 * MiB}\ninactive_file ${60 * MiB}\nactive_file ${40 * MiB}\n`,
      'v2/kubepods/pod-a/memory.swap.current': `${5 * MiB}\n`,
    });
    const loc = locateCgroup(paths(dir));
    assert.deepEqual(loc, { version: 2, dir: join(dir, 'v2/kubepods/pod-a') });
    assert.deepEqual(readCgroup(loc!), { version: 2, limit: 512 * MiB, usage: 300 * MiB, workingSet: 240 * MiB, swapUsage: 5 * MiB });
  });

  test('v2 inside a container namespace: the group shows as "/" and the files sit at the root', () => {
    const dir = tree('v2-root', { 'self-cgroup': '0::/\n', 'v2/memory.max': 'max\n', 'v2/memory.current': `${10 * MiB}\n` });
    const loc = locateCgroup(paths(dir))!;
    assert.equal(loc.version, 2);
    const r = readCgroup(loc);
    assert.equal(r.limit, null);
    assert.equal(r.workingSet, 10 * MiB);
  });

  test('v1 fallback: limit_in_bytes, usage_in_bytes, total_inactive_file', () => {
    const dir = tree('v1', {
      'self-cgroup': '4:memory:/docker/abc\n0::/\n',
      'v1/docker/abc/memory.limit_in_bytes': `${256 * MiB}\n`,
      'v1/docker/abc/memory.usage_in_bytes': `${128 * MiB}\n`,
      'v1/docker/abc/memory.stat': `cache ${30 * MiB}\ninactive_file 999\ntotal_inactive_file ${20 * MiB}\n`,
    });
    const loc = locateCgroup(paths(dir))!;
    assert.deepEqual(loc, { version: 1, dir: join(dir, 'v1/docker/abc') });
    assert.deepEqual(readCgroup(loc), { version: 1, limit: 256 * MiB, usage: 128 * MiB, workingSet: 108 * MiB, swapUsage: null });
  });

  test('v1 with the near-2^63 sentinel means unlimited', () => {
    const dir = tree('v1-unlimited', { 'v1/memory.limit_in_bytes': '9223372036854771712\n', 'v1/memory.usage_in_bytes': '658087936\n' });
    const r = readCgroup(locateCgroup(paths(dir))!);
    assert.equal(r.limit, null);
    assert.equal(r.usage, 658087936);
  });

  test('no cgroup mounted: null', () => {
    assert.equal(locateCgroup(paths(tree('none', { meminfo: MEMINFO }))), null);
  });

  test('a corrupt memory.stat names the file and line', () => {
    const dir = tree('v2-bad', { 'v2/memory.max': '100\n', 'v2/memory.current': '50\n', 'v2/memory.stat': 'anon 1\ninactive_file lots\n' });
    invalidAt(() => readCgroup(locateCgroup(paths(dir))!), join(dir, 'v2/memory.stat'), 2);
  });
});

describe('V8 old-generation limit', () => {
  test('from the flags, command line winning over NODE_OPTIONS', () => {
    const limit = 112 * MiB;
    assert.equal(oldGenerationLimit(limit, ['--max-old-space-size=64'], undefined), 64 * MiB);
    assert.equal(oldGenerationLimit(limit, ['--max-old-space-size=64'], '--max-old-space-size=32'), 64 * MiB);
    assert.equal(oldGenerationLimit(limit, [], '--max_old_space_size=32'), 32 * MiB);
    assert.equal(oldGenerationLimit(limit, [], undefined), 64 * MiB); // 112 − 3 × 16
    assert.equal(oldGenerationLimit(70 * MiB, ['--max-semi-space-size=2'], undefined), 64 * MiB);
  });

  test('a real child started with --max-old-space-size=64 sees a 64 MiB old-space limit', () => {
    // heap_size_limit there is 112 MiB: without the correction the process would die at "60%".
    const code = `import('${new URL('../../../src/platform/memory/sampler.ts', import.meta.url).href}').then((m) => { const s = new m.MemorySampler(); const x = s.sample(); s.close(); console.log(JSON.stringify({ old: x.oldLimit, heap: x.heapSizeLimit })); })`;
    for (const [flags, env] of [[['--max-old-space-size=64'], {}], [[], { NODE_OPTIONS: '--max-old-space-size=64' }]] as const) {
      const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { old: number; heap: number };
      assert.equal(out.old, 64 * MiB);
      assert.ok(out.heap > out.old, `heap_size_limit ${out.heap} includes the young generation`);
    }
  });
});

describe('MemorySampler', () => {
  test('reads synthetic files through injected paths', () => {
    const dir = tree('sampler', {
      'self-cgroup': '0::/\n',
      'v2/memory.max': `${1024 * MiB}\n`,
      'v2/memory.current': `${300 * MiB}\n`,
      'v2/memory.stat': `inactive_file ${100 * MiB}\n`,
      meminfo: MEMINFO,
    });
    const s = new MemorySampler({ paths: paths(dir), now: () => 42, constrainedMemory: () => 1024 * MiB });
    try {
      const x = s.sample();
      assert.equal(x.at, 42);
      assert.deepEqual(x.cgroup, { version: 2, limit: 1024 * MiB, usage: 300 * MiB, workingSet: 200 * MiB, swapUsage: null });
      assert.equal(x.constrained, 1024 * MiB);
      assert.equal(x.system?.memAvailable, 2000000 * 1024);
      assert.ok(x.rss > 0 && x.heapUsed > 0 && x.heapUsed <= x.heapTotal);
      assert.ok(x.oldUsed > 0 && x.oldUsed <= x.oldCommitted && x.oldCommitted <= x.oldLimit && x.oldLimit < x.heapSizeLimit);
    } finally {
      s.close();
    }
  });

  test('a corrupt source is reported once (not every tick) and reads as missing; a fixed file reads again', () => {
    const dir = tree('sampler-bad', { meminfo: 'MemTotal: 1000 kB\nthis is not meminfo\n' });
    const errors: string[] = [];
    const s = new MemorySampler({ paths: paths(dir), onError: (source, err) => errors.push(`${source}: ${err.message}`) });
    try {
      assert.equal(s.sample().system, null);
      assert.equal(s.sample().system, null);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /meminfo: .*meminfo:2: expected "Key: value kB"/);
      writeFileSync(join(dir, 'meminfo'), MEMINFO);
      assert.equal(s.sample().system?.memTotal, 8000000 * 1024);
    } finally {
      s.close();
    }
  });

  test('"no constraint" readings (0, 2^64) are not limits', () => {
    for (const v of [0, 2 ** 64, undefined]) {
      const s = new MemorySampler({ paths: paths(root), constrainedMemory: () => v });
      assert.equal(s.sample().constrained, null);
      s.close();
    }
  });

  test('on this Linux machine: meminfo and a cgroup are found, the event loop is measured', async () => {
    const s = new MemorySampler({ eventLoopResolutionMs: 5 });
    try {
      s.sample();
      // The histogram drops the first interval after a reset (Node keeps no previous timestamp then).
      await new Promise((r) => setTimeout(r, 30));
      const until = performance.now() + 60;
      while (performance.now() < until) {
        // Block the loop: the next sample must see the delay and the utilisation.
      }
      await new Promise((r) => setTimeout(r, 20));
      const x = s.sample();
      assert.ok(x.system && x.system.memTotal > x.system.memAvailable && x.system.memAvailable > 0);
      assert.ok(x.eventLoop.delayMaxMs >= 40, `max delay ${x.eventLoop.delayMaxMs}`);
      assert.ok(x.eventLoop.utilization > 0.3 && x.eventLoop.utilization <= 1, `utilisation ${x.eventLoop.utilization}`);
    } finally {
      s.close();
    }
  });
});
