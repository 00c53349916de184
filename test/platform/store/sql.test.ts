import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../../../src/platform/errors.js';
import { checkIdentifier, copyField, copyText, pgValuesList, toPgPlaceholders } from '../../../src/platform/store/sql.js';

test('? becomes $n outside literals, quoted names, dollar quotes and comments', () => {
  const cases: [string, string, number][] = [
    ['SELECT * FROM t WHERE a = ? AND b = ?', 'SELECT * FROM t WHERE a = $1 AND b = $2', 2],
    ["SELECT '?', 'it''s ?', ? FROM t", "SELECT '?', 'it''s ?', $1 FROM t", 1],
    ['SELECT "we?ird" FROM t WHERE x = ?', 'SELECT "we?ird" FROM t WHERE x = $1', 1],
    ["SELECT E'a\\'?' , ?", "SELECT E'a\\'?' , $1", 1],
    ['SELECT ? -- why ?\n, ?', 'SELECT $1 -- why ?\n, $2', 2],
    ['SELECT /* ? */ ?', 'SELECT /* ? */ $1', 1],
    ['SELECT $$ ? $$, $tag$ ?$$? $tag$, ?', 'SELECT $$ ? $$, $tag$ ?$$? $tag$, $1', 1],
    ['SELECT 1', 'SELECT 1', 0],
    ["SELECT 'unterminated ?", "SELECT 'unterminated ?", 0],
  ];
  for (const [input, text, count] of cases) assert.deepEqual(toPgPlaceholders(input), { text, count }, input);
});

test('COPY text fields escape what COPY treats specially', () => {
  assert.equal(copyField(null), '\\N');
  assert.equal(copyField('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
  assert.equal(copyField('\\N'), '\\\\N', 'a literal backslash-N string is not NULL');
  assert.equal(copyField(12.5), '12.5');
  assert.equal(copyField(12n), '12');
  assert.equal(copyField(true), '1');
  assert.equal(copyField(new Uint8Array([0, 255, 16])), '\\\\x00ff10');
  assert.throws(() => copyField('a\0b'), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
  assert.equal(copyText([['a', 1], [null, 'x y']], 2), 'a\t1\n\\N\tx y\n');
  assert.throws(() => copyText([['a', 1], ['b']], 2), (e) => hasCode(e, 'STORE_QUERY_FAILED') && e.details?.row === 1);
});

test('identifiers are checked before they are spliced into SQL', () => {
  assert.equal(checkIdentifier('probe_results', 'table'), 'probe_results');
  assert.equal(checkIdentifier('app.probe_results', 'table'), 'app.probe_results');
  for (const bad of ['', '1abc', 'a-b', 'a b', 'a;b', 'a.b.c', '"a"', 'x'.repeat(64)]) {
    assert.throws(() => checkIdentifier(bad, 'table'), (e) => hasCode(e, 'STORE_QUERY_FAILED'), bad);
  }
  assert.throws(() => checkIdentifier('a.b', 'column'), (e) => hasCode(e, 'STORE_QUERY_FAILED'));
});

test('multi-row VALUES lists number their placeholders in order', () => {
  assert.equal(pgValuesList(2, 3), '($1, $2, $3), ($4, $5, $6)');
});
