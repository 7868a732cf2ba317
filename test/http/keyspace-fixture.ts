/** The keyspace tests' bucket: `travel-sample` with scope `inventory` holding `airport` and `hotel`. */
import assert from 'node:assert/strict';
import { createDb, obj, type CouchFixture } from './helpers.js';

export const AIRPORT = '/travel-sample.inventory.airport';
export const HOTEL = '/travel-sample.inventory.hotel';
export const DEFAULT = '/travel-sample';

/** Collections are created through the engine API (the management REST is another face's). */
export async function travelSample(f: CouchFixture): Promise<void> {
  await createDb(f, 'travel-sample');
  const bucket = f.engine.requireBucket('travel-sample');
  await bucket.createScope('inventory');
  await bucket.createCollection('inventory', 'airport');
  await bucket.createCollection('inventory', 'hotel');
}

/** PUT a document; 201 expected; returns its rev. */
export async function put(f: CouchFixture, path: string, body: Record<string, unknown>): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json: body });
  assert.equal(r.status, 201, `PUT ${path}: ${r.text}`);
  return obj(r.json).rev as string;
}
