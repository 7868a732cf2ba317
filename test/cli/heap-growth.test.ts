/**
 * `freshet serve` sets V8's old-generation growing factor (cli/heap-growth.ts) unless the process
 * was started with its own setting, on Node's command line or in NODE_OPTIONS.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { heapGrowthGiven, tuneHeapGrowth } from '../../src/cli/heap-growth.js';

describe('cli > serve heap growth', () => {
  test('a setting on the command line or in NODE_OPTIONS, in either spelling, is the operator\'s', () => {
    assert.equal(heapGrowthGiven([], ''), false);
    assert.equal(heapGrowthGiven(['--max-old-space-size=512'], '--enable-source-maps'), false);
    assert.equal(heapGrowthGiven(['--heap-growing-percent=30'], ''), true);
    assert.equal(heapGrowthGiven([], '--max-old-space-size=512 --heap_growing_percent=20'), true);
    assert.equal(heapGrowthGiven([], '--heap-growing-percentage'), false);
  });

  test('the operator\'s setting is left alone', () => {
    assert.equal(tuneHeapGrowth(['--heap-growing-percent=30'], ''), false);
    assert.equal(tuneHeapGrowth([], '--heap-growing-percent=30'), false);
  });
});
