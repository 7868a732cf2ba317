/**
 * Creations and deletions of one database racing each other (found by fuzzing): each waits for
 * the one before it (engine.ts), so they answer 200/201/404/412 as CouchDB does, never a 500,
 * and the store never sees the name's LMDB databases dropped under a new bucket of that name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCouch } from './helpers.js';

test('racing DELETE, PUT, DELETE of one database: no 5xx, no storage fault, a consistent end', () =>
  withCouch(async (f) => {
    for (let round = 0; round < 5; round++) {
      assert.equal((await f.req('/ra', { method: 'PUT' })).status, 201);
      await f.req('/ra/doc', { method: 'PUT', json: { round } });
      const statuses = (await Promise.all([
        f.req('/ra', { method: 'DELETE' }),
        f.req('/ra', { method: 'PUT' }),
        f.req('/ra', { method: 'DELETE' }),
        f.req('/ra/other', { method: 'PUT', json: {} }),
      ])).map((r) => r.status);
      for (const s of statuses) assert.ok(s < 500, `round ${round}: ${statuses.join(',')}`);
      // Whatever the order, the last word decides: the database exists exactly when a PUT won last.
      const exists = (await f.req('/ra')).status === 200;
      if (exists) assert.equal((await f.req('/ra', { method: 'DELETE' })).status, 200);
      assert.equal((await f.req('/ra')).status, 404);
    }
    assert.equal(f.engine.store.health.state, 'healthy');
    assert.equal((await f.req('/ra', { method: 'PUT' })).status, 201);
    assert.equal((await f.req('/ra/after', { method: 'PUT', json: { ok: true } })).status, 201);
  }));
