/**
 * Pure parsing of `_changes` responses (no I/O), for every feed mode a peer may answer with
 * (couch-replication.md §2.3-§2.5, §2.10-§2.11):
 *
 * - `normal` / `longpoll`: one JSON object `{"results":[…],"last_seq":…,"pending":…}`. Heartbeat
 *   newlines may sit inside it as whitespace, so plain JSON.parse is enough.
 * - `continuous`: one row per line, `\n` heartbeats (blank lines), and a final
 *   `{"last_seq":…,"pending":…}` line from CouchDB. pouchdb-server and Sync Gateway never send the
 *   final line, so the seq of the last row is the resume point.
 *
 * Sequences are opaque JSON values (numbers in PouchDB, strings in CouchDB 2+ and Sync Gateway):
 * they are stored and echoed back, never compared. A number too big for a double stays exact, as
 * a `BigSeq` (json-seq.ts).
 */
import { ReplicationError } from './errors.js';
import { BigSeq, parseJson, stringifyJson } from './json-seq.js';

/** An opaque update sequence, whatever JSON the peer produced. */
export type Seq = unknown;

export interface ChangeRow {
  seq: Seq;
  id: string;
  changes: Array<{ rev: string }>;
  deleted?: boolean;
  doc?: Record<string, unknown>;
  /** Sync Gateway: channels the document left. */
  removed?: unknown;
}

export interface ChangesPage {
  results: ChangeRow[];
  lastSeq: Seq;
  pending?: number;
}

export type ContinuousLine = { kind: 'row'; row: ChangeRow } | { kind: 'end'; lastSeq: Seq; pending?: number } | { kind: 'heartbeat' };

function bad(detail: string): ReplicationError {
  return new ReplicationError('BAD_RESPONSE', `_changes: ${detail}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates one row; `changes` entries without a string `rev` (Sync Gateway `cv`) are dropped. */
export function toChangeRow(value: unknown): ChangeRow {
  if (!isObject(value) || typeof value.id !== 'string') throw bad('row without an id');
  const changes = Array.isArray(value.changes)
    ? value.changes.filter((c): c is { rev: string } => isObject(c) && typeof c.rev === 'string').map((c) => ({ rev: c.rev }))
    : [];
  const row: ChangeRow = { seq: value.seq, id: value.id, changes };
  if (value.deleted === true) row.deleted = true;
  if (isObject(value.doc)) row.doc = value.doc;
  if (value.removed !== undefined) row.removed = value.removed;
  return row;
}

/** A `normal` or `longpoll` body. */
export function parseChangesBody(body: Buffer | string): ChangesPage {
  let parsed: unknown;
  try {
    parsed = parseJson(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (cause) {
    throw new ReplicationError('BAD_RESPONSE', '_changes: invalid JSON', {}, cause);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.results)) throw bad('no results array');
  const results = parsed.results.map(toChangeRow);
  const lastSeq = parsed.last_seq !== undefined ? parsed.last_seq : results.length > 0 ? results[results.length - 1]!.seq : undefined;
  const page: ChangesPage = { results, lastSeq };
  if (typeof parsed.pending === 'number') page.pending = parsed.pending;
  return page;
}

/** One line of a `continuous` feed (without its newline). */
export function parseContinuousLine(line: string): ContinuousLine {
  const text = line.trim();
  if (text === '') return { kind: 'heartbeat' };
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch (cause) {
    throw new ReplicationError('BAD_RESPONSE', '_changes: invalid JSON line', {}, cause);
  }
  if (isObject(parsed) && parsed.id === undefined && 'last_seq' in parsed) {
    const end: ContinuousLine = { kind: 'end', lastSeq: parsed.last_seq };
    if (typeof parsed.pending === 'number') end.pending = parsed.pending;
    return end;
  }
  return { kind: 'row', row: toChangeRow(parsed) };
}

/**
 * Splits a byte stream into lines. Bytes are kept until their newline arrives, so a multi-byte
 * UTF-8 character split across chunks is decoded whole.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /**
   * `maxLineBytes`: the longest line accepted. A peer that streams bytes without ever sending a
   * newline would otherwise grow this buffer until the process runs out of memory; a row is one
   * change (with `include_docs`, one document, at most 8 MB by CouchDB's default
   * `max_document_size`), so 64 MiB leaves room and fails such a feed as a bad response.
   */
  constructor(private readonly maxLineBytes = 64 * 1024 * 1024) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pending.length > 0) {
        this.pending.push(piece);
        this.check(this.pendingBytes + piece.length);
        lines.push(Buffer.concat(this.pending).toString('utf8'));
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        this.check(piece.length);
        lines.push(piece.toString('utf8'));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      this.check(this.pendingBytes);
    }
    return lines;
  }

  private check(bytes: number): void {
    if (bytes <= this.maxLineBytes) return;
    this.pending = [];
    this.pendingBytes = 0;
    throw new ReplicationError('BAD_RESPONSE', `_changes: a line longer than ${this.maxLineBytes} bytes`);
  }

  /** Whatever is left without a newline (a last line the peer did not terminate). */
  flush(): string | null {
    if (this.pending.length === 0) return null;
    const rest = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return rest;
  }
}

/**
 * `since` as a query value: a JSON string is sent raw (CouchDB's opaque seqs), anything else
 * JSON-encoded (couch_replicator_api_wrap.erl changes_since/5).
 */
export function encodeSince(seq: Seq): string {
  if (typeof seq === 'string') return seq;
  return seq instanceof BigSeq ? seq.raw : stringifyJson(seq ?? 0);
}

/** Two seqs are the same position when their JSON is the same. */
export function sameSeq(a: Seq, b: Seq): boolean {
  return stringifyJson(a) === stringifyJson(b);
}
