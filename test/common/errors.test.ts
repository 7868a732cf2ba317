/**
 * The error registry (src/common/errors.ts): every error class in src/ builds on `FreshetError`,
 * every code is unique across domains, follows the `DOMAIN_KIND` scheme and is documented (a
 * one-line description in its domain's table, and the domain's prefix and home in README "Errors").
 *
 * The homes are found by scanning src/ for `registerErrorCodes(` calls and importing each one, so
 * a new domain is checked without editing this file.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ERROR_CODE_PATTERN,
  FreshetError,
  errorCode,
  isFreshetError,
  registeredErrorCodes,
  type RegisteredErrorCode,
} from '../../src/common/errors.js';
import { EngineError, storageEngineError } from '../../src/engine/errors.js';
import { StorageError } from '../../src/store/storage-fault.js';
import { CouchError } from '../../src/couch/errors.js';
import { KvReplyError } from '../../src/kv/errors.js';
import { KvStatusError } from '../../src/client/conn-errors.js';
import { ReplicationError } from '../../src/replicator/errors.js';
import { AuthFailError } from '../../src/consumer/errors.js';
import { ProtocolError } from '../../src/codec/errors.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const SOURCES = sourceFiles(join(ROOT, 'src')).map((abs) => ({ path: relative(ROOT, abs), text: readFileSync(abs, 'utf8') }));
const REGISTER_CALL = /registerErrorCodes\(\s*'([^']*)',\s*'([^']*)'/g;

/** The `registerErrorCodes(prefix, home, ...)` calls found in src/, with the file holding each. */
const CALLS = SOURCES.flatMap((f) => [...f.text.matchAll(REGISTER_CALL)].map((m) => ({ file: f.path, prefix: m[1]!, home: m[2]! })));

/** README's "Errors" table rows: prefix -> home. */
function readmeDomains(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README has an "## Errors" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([A-Z0-9]+)_` \| `([^`]+)` \|/gm)) {
    assert.ok(!rows.has(m[1]!), `README lists ${m[1]} twice`);
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe('error registry', () => {
  let codes: readonly RegisteredErrorCode[] = [];

  before(async () => {
    for (const call of CALLS) await import(pathToFileURL(join(ROOT, call.file)).href);
    codes = registeredErrorCodes();
  });

  test('each domain registers from one home, the file that says so', () => {
    assert.ok(CALLS.length >= 10, `found ${CALLS.length} registerErrorCodes calls`);
    const homes = new Map<string, string>();
    for (const call of CALLS) {
      assert.equal(call.home, call.file, `${call.prefix} registered from ${call.file} but names ${call.home} as its home`);
      assert.ok(!homes.has(call.prefix), `${call.prefix} registered from both ${homes.get(call.prefix)} and ${call.file}`);
      homes.set(call.prefix, call.home);
    }
  });

  test('codes are unique, follow DOMAIN_KIND and have a one-line description', () => {
    assert.ok(codes.length > 100, `only ${codes.length} codes registered`);
    const seen = new Map<string, string>();
    for (const c of codes) {
      assert.ok(!seen.has(c.code), `${c.code} registered by ${seen.get(c.code)} and ${c.home}`);
      seen.set(c.code, c.home);
      assert.match(c.code, ERROR_CODE_PATTERN);
      assert.ok(c.code.startsWith(`${c.prefix}_`), `${c.code} lacks its domain prefix ${c.prefix}_`);
      assert.match(c.prefix, /^[A-Z][A-Z0-9]*$/);
      assert.ok(c.description.trim().length > 0, `${c.code} has no description`);
      assert.ok(!/[\r\n]/.test(c.description), `${c.code}: description must be one line`);
    }
    // No prefix is another's start (CLUSTER_ vs CLUSTERX_ would be ambiguous to read).
    const prefixes = [...new Set(codes.map((c) => c.prefix))];
    for (const a of prefixes) for (const b of prefixes) if (a !== b) assert.ok(!b.startsWith(`${a}_`), `${b} starts with ${a}_`);
  });

  test('every fixed code built in src/ is registered', () => {
    const registered = new Set(codes.map((c) => c.code));
    const literal = /errorCode\(\s*'([A-Z0-9]+)',\s*'([A-Za-z0-9_]+)'\s*\)/g;
    let checked = 0;
    for (const f of SOURCES) {
      for (const m of f.text.matchAll(literal)) {
        checked++;
        const code = errorCode(m[1]!, m[2]!);
        assert.ok(registered.has(code), `${f.path} builds ${code}, which no table registers`);
      }
    }
    assert.ok(checked >= 8, `found only ${checked} fixed codes`);
  });

  test('every error class in src/ builds on FreshetError', () => {
    const direct = SOURCES.flatMap((f) => [...f.text.matchAll(/class (\w+)(?:<[^>]*>)? extends Error\b/g)].map((m) => `${f.path}: ${m[1]}`));
    assert.deepEqual(direct, ['src/common/errors.ts: FreshetError']);
  });

  test('README "Errors" documents every prefix with its home, and nothing else', () => {
    const rows = readmeDomains();
    const registered = new Map(codes.map((c) => [c.prefix, c.home]));
    assert.deepEqual([...rows.keys()].sort(), [...registered.keys()].sort());
    for (const [prefix, home] of registered) assert.equal(rows.get(prefix), home, `README's home for ${prefix}_`);
  });
});

describe('FreshetError', () => {
  test('a domain error carries its prefixed code, kind, table flags and cause', () => {
    const e = new EngineError('ETMPFAIL');
    assert.ok(isFreshetError(e) && e instanceof FreshetError && e instanceof Error);
    assert.equal(e.code, 'ENGINE_ETMPFAIL');
    assert.equal(e.kind, 'ETMPFAIL');
    assert.equal(e.retriable, true);
    assert.equal(e.status, 0x86);
    assert.equal(e.name, 'EngineError');
    assert.equal(new EngineError('KEY_ENOENT').retriable, false);

    const full = new StorageError('ENOSPC', 'no space');
    assert.equal(full.code, 'STORE_ENOSPC');
    assert.equal(full.errno, 'ENOSPC');
    assert.equal(full.full && full.retriable, true);
    const io = new StorageError('EIO', 'bad sector');
    assert.equal(io.code, 'STORE_WRITE_FAILED');
    assert.equal(io.full || io.retriable, false);

    const wrapped = storageEngineError(full);
    assert.equal(wrapped.code, 'ENGINE_ENOSPC');
    assert.equal(wrapped.cause, full);
    assert.equal(wrapped.context.errno, 'ENOSPC');

    const couch = new CouchError('insufficient_storage', { params: { detail: 'x' }, cause: wrapped });
    assert.equal(couch.code, 'COUCH_INSUFFICIENT_STORAGE');
    assert.equal(couch.kind, 'insufficient_storage');
    assert.deepEqual(couch.toJSON(), { error: 'insufficient_storage', reason: 'x' });
    assert.equal(couch.cause, wrapped);
  });

  test('the KV face and the KV client have distinct status errors', () => {
    const reply = new KvReplyError(0x04, 'ADD does not take a CAS');
    assert.equal(reply.name, 'KvReplyError');
    assert.equal(reply.code, 'KV_REPLY_STATUS');
    assert.equal(reply.status, 0x04);
    assert.notEqual(KvReplyError.name, KvStatusError.name);
    assert.ok(!(reply instanceof KvStatusError));
  });

  test('errors from other domains keep their own fields', () => {
    const rep = new ReplicationError('TIMEOUT', 'GET /db', { status: 408 });
    assert.equal(rep.code, 'REPLICATOR_TIMEOUT');
    assert.equal(rep.retriable, true);
    assert.equal(rep.status, 408);
    const auth = new AuthFailError('http://h', 'u');
    assert.equal(auth.code, 'CONSUMER_AUTH_FAIL');
    assert.equal(auth.name, 'AuthFailError');
    const proto = new ProtocolError('BAD_MAGIC', 'magic 0x00', { magic: 0 });
    assert.equal(proto.code, 'CODEC_BAD_MAGIC');
    assert.equal(proto.context.magic, 0);
  });
});
