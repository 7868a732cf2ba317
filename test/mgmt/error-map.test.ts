import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERROR_ATTRIBUTES,
  KV_ENGINE_ERROR_ATTRS,
  buildErrorMap,
  errorMapKey,
  negotiateErrorMapVersion,
  type ErrorMapStatusInput,
} from '../../src/kv/error-map.js';

const TABLE: ErrorMapStatusInput[] = [
  { code: 0x86, name: 'ETMPFAIL', description: 'Temporary failure', attrs: [] },
  { code: 0x00, name: 'SUCCESS', description: 'Success', attrs: ['success'] },
  { code: 0x01, name: 'KEY_ENOENT', description: 'Not Found', attrs: [] },
  { code: 0x07, name: 'NOT_MY_VBUCKET', description: 'Server does not know about this vBucket', attrs: [] },
  { code: 0x1f, name: 'AUTH_STALE', description: 'Reauthentication required', attrs: [] },
  { code: 0x20, name: 'AUTH_ERROR', description: 'Authentication failed', attrs: [] },
  { code: 0x23, name: 'ROLLBACK', description: 'Rollback', attrs: [] },
  { code: 0x0c, name: 'EWOULD_THROTTLE', description: 'Command would have been throttled', attrs: ['temp', 'retry-later', 'rate-limit'] },
  { code: 0xa0, name: 'DurabilityInvalidLevel', description: 'Durability level is invalid', attrs: [] },
];

describe('GET_ERROR_MAP body', () => {
  test('version 2 has version, revision and errors keyed by lower-case hex', () => {
    const map = buildErrorMap(TABLE, { version: 2, revision: 3 });
    assert.equal(map.version, 2);
    assert.equal(map.revision, 3);
    // (JavaScript lists integer-like keys first; JSON object order carries no meaning.)
    assert.deepEqual(Object.keys(map.errors).sort(), ['0', '1', '1f', '20', '23', '7', '86', 'a0', 'c']);
    assert.deepEqual(map.errors['7'], {
      name: 'NOT_MY_VBUCKET',
      desc: 'Server does not know about this vBucket',
      attrs: ['fetch-config', 'invalid-input'],
    });
    assert.deepEqual(map.errors['86']?.attrs, ['temp', 'retry-now']);
    assert.deepEqual(map.errors['20']?.attrs, ['conn-state-invalidated', 'auth']);
    assert.deepEqual(map.errors['23']?.attrs, ['dcp', 'special-handling']);
    assert.deepEqual(map.errors['c']?.attrs, ['temp', 'retry-later', 'rate-limit']);
  });

  test('every entry carries name, desc and attrs (the C++ SDK aborts otherwise)', () => {
    const parsed = JSON.parse(JSON.stringify(buildErrorMap(TABLE, { version: 2, revision: 1 }))) as {
      revision: unknown;
      errors: Record<string, Record<string, unknown>>;
    };
    assert.equal(typeof parsed.revision, 'number');
    for (const entry of Object.values(parsed.errors)) {
      assert.equal(typeof entry['name'], 'string');
      assert.equal(typeof entry['desc'], 'string');
      assert.ok(Array.isArray(entry['attrs']) && entry['attrs'].length > 0);
    }
    assert.deepEqual(buildErrorMap([], { version: 2, revision: 1 }), { version: 2, revision: 1, errors: {} });
  });

  test('version 1 drops version-2 attributes and codes left without any', () => {
    const map = buildErrorMap(
      [...TABLE, { code: 0x28, name: 'EXPIRY_OVERFLOW', description: 'overflow', attrs: ['item-only', 'system-constraint', 'no-retry'] }],
      { version: 1, revision: 1 },
    );
    assert.deepEqual(map.errors['c']?.attrs, ['temp', 'retry-later']);
    assert.deepEqual(map.errors['28']?.attrs, ['item-only']);
    const onlyNew = buildErrorMap([{ code: 0x30, name: 'RL', description: 'rate limited', attrs: ['rate-limit'] }], {
      version: 1,
      revision: 1,
    });
    assert.deepEqual(onlyNew.errors, {});
    for (const entry of Object.values(map.errors)) {
      assert.ok(entry.attrs.every((a) => ERROR_ATTRIBUTES[a] === 1));
    }
  });

  test('bad tables are rejected', () => {
    const cases: ErrorMapStatusInput[][] = [
      [{ code: 0x99, name: 'X', description: 'no attrs and no kv_engine default', attrs: [] }],
      [{ code: 0x01, name: 'X', description: 'typo', attrs: ['item_only'] }],
      [TABLE[0]!, TABLE[0]!],
      [{ code: 0x10000, name: 'X', description: 'too big', attrs: ['internal'] }],
      [{ code: 0x01, name: '', description: 'nameless', attrs: [] }],
    ];
    for (const table of cases) assert.throws(() => buildErrorMap(table, { version: 2, revision: 1 }), /status|attribute|u16/);
    assert.throws(() => buildErrorMap(TABLE, { version: 2, revision: 0 }), /revision/);
  });

  test('kv_engine reference attributes are all known attributes', () => {
    for (const [code, attrs] of Object.entries(KV_ENGINE_ERROR_ATTRS)) {
      assert.ok(attrs.length > 0, code);
      assert.ok(attrs.every((a) => a in ERROR_ATTRIBUTES), code);
    }
    assert.equal(errorMapKey(0xa0), 'a0');
    assert.equal(errorMapKey(0), '0');
  });
});

describe('version negotiation', () => {
  test('serves the highest version not above the request; none for 0', () => {
    assert.equal(negotiateErrorMapVersion(0), undefined);
    assert.equal(negotiateErrorMapVersion(1), 1);
    assert.equal(negotiateErrorMapVersion(2), 2);
    assert.equal(negotiateErrorMapVersion(0xffff), 2);
  });
});
