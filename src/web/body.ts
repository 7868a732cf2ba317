/**
 * Reading request bodies, for both HTTP faces: bounded, and JSON admitted only through the one
 * shared check (codec/json-check.ts: valid UTF-8, valid JSON, nesting within a limit).
 *
 * The errors are the face's own (CouchDB's `413 too_large` / `400 bad_request "invalid UTF-8
 * JSON"`, ns_server's 413 text reply), so each face passes its `BodyErrors` and the thrown value
 * is already what its error renderer understands.
 */
import type { IncomingMessage } from 'node:http';
import { parseCheckedJson } from '../codec/json-check.js';

export interface BodyErrors {
  /** The body (declared or received) is larger than the limit. */
  tooLarge(): Error;
  /** Not valid UTF-8 JSON. */
  invalidJson(): Error;
  /** Valid JSON nesting deeper than `limit`. */
  tooDeep(limit: number): Error;
}

/**
 * Read the whole body, up to `limit` bytes. A Content-Length above the limit is refused before
 * anything is read; a body that grows past it is refused as soon as it does.
 */
export async function readBody(req: IncomingMessage, limit: number, errors: Pick<BodyErrors, 'tooLarge'>): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw errors.tooLarge();
    chunks.push(buf);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/**
 * Parse a JSON body: invalid UTF-8 or JSON, or nesting deeper than `maxDepth`, is the face's error.
 * So is a number beyond a double (`1e400`), which JSON.parse turns into Infinity and
 * JSON.stringify then into `null`: jiffy refuses it as invalid JSON.
 */
export function parseJsonBody(raw: Buffer | string, maxDepth: number, errors: BodyErrors): unknown {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const checked = parseCheckedJson(bytes, maxDepth);
  if (checked.ok) {
    if (MAYBE_HUGE.test(bytes.toString('latin1')) && !allFinite(checked.value)) throw errors.invalidJson();
    return checked.value;
  }
  if (checked.failure === 'depth') throw errors.tooDeep(maxDepth);
  throw errors.invalidJson();
}

/** A three-digit exponent or a 309-digit run: only then can a number overflow (strings may match too). */
const MAYBE_HUGE = /[eE][+]?[0-9]{3}|[0-9]{309}/;

function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(allFinite);
  if (typeof v === 'object' && v !== null) return Object.values(v).every(allFinite);
  return true;
}
