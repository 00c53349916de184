import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import { Allowlist, expandCidr, normalizeAddress, parsePorts, parseTarget, wellKnownPorts } from '../../../src/capabilities/probe/index.js';

test('targets: addresses, names, CIDR blocks, with and without a port', () => {
  assert.deepEqual(parseTarget('127.0.0.1'), { kind: 'ip', input: '127.0.0.1', address: '127.0.0.1', family: 4 });
  assert.deepEqual(parseTarget('::1'), { kind: 'ip', input: '::1', address: '::1', family: 6 });
  assert.deepEqual(parseTarget('[::1]:8080'), { kind: 'ip', input: '[::1]:8080', address: '::1', family: 6, port: 8080 });
  assert.deepEqual(parseTarget('127.0.0.1:22'), { kind: 'ip', input: '127.0.0.1:22', address: '127.0.0.1', family: 4, port: 22 });
  assert.deepEqual(parseTarget('LocalHost.'), { kind: 'name', input: 'LocalHost.', name: 'localhost' });
  assert.deepEqual(parseTarget('db.internal:5432'), { kind: 'name', input: 'db.internal:5432', name: 'db.internal', port: 5432 });
  assert.deepEqual(parseTarget('127.0.0.0/30'), { kind: 'cidr', input: '127.0.0.0/30', network: '127.0.0.0', prefix: 30, family: 4 });
  assert.deepEqual(parseTarget('::1/128'), { kind: 'cidr', input: '::1/128', network: '::1', prefix: 128, family: 6 });
  for (const bad of ['', 'a b', 'http://x', '127.0.0.1/33', '::1/129', 'x/8', '-bad-.com', '127.0.0.1:0', '127.0.0.1:70000', 'a'.repeat(400)]) {
    assert.throws(() => parseTarget(bad), (e) => hasCode(e, 'PROBE_TARGET_INVALID', 'PROBE_PORTS_INVALID'), bad);
  }
});

test('ports: lists, ranges, open-ended ranges, all, well-known', () => {
  assert.deepEqual(parsePorts('22'), [22]);
  assert.deepEqual(parsePorts('443,22,80,22'), [22, 80, 443]);
  assert.deepEqual(parsePorts('1-5,3'), [1, 2, 3, 4, 5]);
  assert.deepEqual(parsePorts('65530-'), [65530, 65531, 65532, 65533, 65534, 65535]);
  assert.deepEqual(parsePorts('-3'), [1, 2, 3]);
  assert.equal(parsePorts('all').length, 65535);
  assert.equal(parsePorts('-').length, 65535);
  assert.deepEqual(parsePorts(undefined), wellKnownPorts());
  assert.ok(parsePorts('well-known').includes(5432));
  assert.deepEqual(parsePorts([80, 22, 80]), [22, 80]);
  for (const bad of ['', '0', '65536', '5-1', 'http', '1,,2', '1-2-3', 'x'.repeat(20_000)]) {
    assert.throws(() => parsePorts(bad), (e) => hasCode(e, 'PROBE_PORTS_INVALID'), bad);
  }
  assert.throws(() => parsePorts([0]), (e) => hasCode(e, 'PROBE_PORTS_INVALID'));
});

test('CIDR expansion, IPv4 and IPv6, bounded', () => {
  assert.deepEqual(expandCidr(parseTarget('127.0.0.5/30') as never, 256), ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']);
  assert.deepEqual(expandCidr(parseTarget('::1/127') as never, 256), ['::', '::1']);
  assert.deepEqual(expandCidr(parseTarget('fd00::ff/126') as never, 256), ['fd00::fc', 'fd00::fd', 'fd00::fe', 'fd00::ff']);
  assert.throws(() => expandCidr(parseTarget('127.0.0.0/8') as never, 256), (e) => hasCode(e, 'PROBE_LIMIT_EXCEEDED'));
});

test('allowlist: loopback by default; mapped IPv6 is judged as the IPv4 it carries', () => {
  const a = new Allowlist();
  for (const ok of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(a.allows(ok), true, ok);
  for (const no of ['10.0.0.1', '0.0.0.0', '::', '192.168.1.1', '::ffff:10.0.0.1', '::ffff:a00:1', 'fe80::1', 'not-an-ip']) assert.equal(a.allows(no), false, no);
  const b = new Allowlist(['10.1.2.0/24', 'fd00::/64', '192.0.2.7']);
  assert.equal(b.allows('10.1.2.200'), true);
  assert.equal(b.allows('10.1.3.1'), false);
  assert.equal(b.allows('fd00::abcd'), true);
  assert.equal(b.allows('192.0.2.7'), true);
  assert.equal(b.allows('127.0.0.1'), false, 'an explicit list replaces the default');
  assert.throws(() => new Allowlist(['example.com']), (e) => hasCode(e, 'PROBE_TARGET_INVALID'));
  assert.equal(normalizeAddress('::FFFF:7f00:1'), '127.0.0.1');
  assert.equal(normalizeAddress('[::1]'), '::1');
});
