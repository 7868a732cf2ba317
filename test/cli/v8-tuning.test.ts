/**
 * `freshet serve` sets V8 flags for a server's allocation pattern (cli/v8-tuning.ts) unless the
 * process was started with its own setting, on Node's command line or in NODE_OPTIONS.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { missingNodeFlags, SERVER_NODE_FLAGS, SERVER_V8_FLAGS, tuneV8ForServer, v8FlagGiven } from '../../src/cli/v8-tuning.js';

const root = new URL('../../', import.meta.url);

describe('cli > serve V8 tuning', () => {
  test('a setting on the command line or in NODE_OPTIONS, in any spelling, is the operator\'s', () => {
    const given = (argv: string[], env: string): boolean => v8FlagGiven('heap-growing-percent', argv, env);
    assert.equal(given([], ''), false);
    assert.equal(given(['--max-old-space-size=512'], '--enable-source-maps'), false);
    assert.equal(given(['--heap-growing-percent=30'], ''), true);
    assert.equal(given([], '--max-old-space-size=512 --heap_growing_percent=20'), true);
    assert.equal(given([], '--heap-growing-percentage=1'), false);
    assert.equal(v8FlagGiven('allocation-site-pretenuring', ['--allocation-site-pretenuring'], ''), true);
    assert.equal(v8FlagGiven('allocation-site-pretenuring', [], '--no-allocation_site_pretenuring'), true);
  });

  test('flags the operator set are left alone; the others are applied', () => {
    const all = SERVER_V8_FLAGS.map(([name]) => `--${name}=1`);
    assert.deepEqual(tuneV8ForServer(all, ''), []);
    assert.deepEqual(tuneV8ForServer([], all.join(' ')), []);
    assert.deepEqual(tuneV8ForServer(['--heap-growing-percent=30'], ''), ['--no-allocation-site-pretenuring']);
  });

  test('the flags V8 reads only at startup are on the command lines npm starts the server with', () => {
    assert.ok(SERVER_NODE_FLAGS.length > 0);
    const scripts = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const flag of SERVER_NODE_FLAGS) {
      assert.ok(scripts.start!.split(' ').includes(flag), `npm start passes ${flag}`);
      assert.ok(scripts.bench!.split(' ').includes(flag), `npm run bench passes ${flag}`);
    }
  });

  test('a startup flag counts as given in any setting of its own, on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(missingNodeFlags([], ''), [...SERVER_NODE_FLAGS]);
    assert.deepEqual(missingNodeFlags([...SERVER_NODE_FLAGS], ''), []);
    assert.deepEqual(missingNodeFlags([], '--max_semi_space_size=32'), []);
  });
});
