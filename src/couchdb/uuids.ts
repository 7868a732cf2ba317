/**
 * Server-generated ids, as CouchDB's couch_uuids makes them: `GET /_uuids`, the id of a document
 * POSTed or sent to `_bulk_docs` without one, and a design function's `req.uuid`. The kind is
 * `[uuids] algorithm`, read at each call (a change applies at once, as couch_uuids'
 * config listener resets its state):
 *
 * - `sequential` (CouchDB 3's default.ini): a random prefix of 26 hex digits and a 6-digit hex
 *   counter that grows by a random 1..0xffe per id; past 0xfff000 a new prefix and counter;
 * - `random`: 32 random hex digits;
 * - `utc_random`: 14 hex digits of microseconds since 1970, then 18 random hex digits;
 * - `utc_id`: the same 14 digits, then `[uuids] utc_id_suffix`.
 *
 * The time of the utc kinds never repeats nor goes back (couch_uuids utc_suffix/3 and its
 * ClockSeq): when the clock has not moved past the last value, the last value + 1 is used.
 */
import { randomBytes, randomInt } from 'node:crypto';

export const UUID_ALGORITHMS = ['sequential', 'random', 'utc_random', 'utc_id'] as const;
export type UuidAlgorithm = (typeof UUID_ALGORITHMS)[number];

export function isUuidAlgorithm(value: string): value is UuidAlgorithm {
  return (UUID_ALGORITHMS as readonly string[]).includes(value);
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** couch_uuids inc/0: a random step of the sequential counter. */
const step = (): number => randomInt(1, 0xfff);

export class UuidGenerator {
  #algorithm: string | undefined;
  #prefix = '';
  #seq = 0;
  /** The last utc time given, in microseconds since 1970. */
  #clock = 0;

  /** `setting(key)`: the `[uuids]` value in effect (couchdb/config.ts). */
  constructor(private readonly setting: (key: string) => string | undefined) {}

  next(): string {
    const configured = this.setting('algorithm') ?? 'sequential';
    const algorithm: UuidAlgorithm = isUuidAlgorithm(configured) ? configured : 'sequential';
    if (algorithm !== this.#algorithm) {
      this.#algorithm = algorithm;
      this.#newPrefix();
    }
    switch (algorithm) {
      case 'random':
        return hex(16);
      case 'utc_random':
        return this.#utc() + hex(9);
      case 'utc_id':
        return this.#utc() + (this.setting('utc_id_suffix') ?? '');
      case 'sequential': {
        const id = this.#prefix + this.#seq.toString(16).padStart(6, '0');
        if (this.#seq >= 0xfff000) this.#newPrefix();
        else this.#seq += step();
        return id;
      }
    }
  }

  #newPrefix(): void {
    this.#prefix = hex(13);
    this.#seq = step();
  }

  /** 14 hex digits of microseconds since 1970, always above the last ones given. */
  #utc(): string {
    const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    this.#clock = now > this.#clock ? now : this.#clock + 1;
    return this.#clock.toString(16).padStart(14, '0');
  }
}
