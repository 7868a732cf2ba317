/**
 * The DCP producers of each bucket, by connection name: kv_engine's DcpConnMap
 * (engines/ep/src/dcp/dcpconnmap.cc), which `stats dcp` lists and which enforces that a name is
 * used by one connection at a time: opening a name an established connection uses closes that
 * connection (dcp.md §2.4 DCP_OPEN).
 *
 * It also forwards the bucket's 'manifest' event to its producers, one listener per bucket
 * however many connections there are (legacy streams end when `_default` is dropped).
 */
import type { Bucket } from '../engine/bucket.js';
import type { Manifest } from '../engine/manifest.js';

export interface RegisteredProducer {
  readonly name: string;
  /** Close the connection this producer serves. */
  disconnect(reason: string): void;
  /** The bucket's collections manifest changed. */
  manifestChanged?(m: Manifest): void;
}

const BY_BUCKET = new WeakMap<Bucket, Map<string, RegisteredProducer>>();

function namesOf(bucket: Bucket): Map<string, RegisteredProducer> {
  let names = BY_BUCKET.get(bucket);
  if (!names) {
    const created = new Map<string, RegisteredProducer>();
    bucket.on('manifest', (m: Manifest) => {
      for (const p of [...created.values()]) p.manifestChanged?.(m);
    });
    names = created;
    BY_BUCKET.set(bucket, names);
  }
  return names;
}

/** Register `producer` under its name, closing whichever connection held the name before. */
export function registerProducer(bucket: Bucket, producer: RegisteredProducer): void {
  const names = namesOf(bucket);
  const previous = names.get(producer.name);
  names.set(producer.name, producer);
  if (previous && previous !== producer) previous.disconnect(`DCP connection name "${producer.name}" reused by a new connection`);
}

export function unregisterProducer(bucket: Bucket, producer: RegisteredProducer): void {
  const names = BY_BUCKET.get(bucket);
  if (names?.get(producer.name) === producer) names.delete(producer.name);
}

export function producersOf<T extends RegisteredProducer>(bucket: Bucket, guard: (p: RegisteredProducer) => p is T): T[] {
  return [...(BY_BUCKET.get(bucket)?.values() ?? [])].filter(guard);
}
