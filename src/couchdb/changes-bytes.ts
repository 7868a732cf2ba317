/**
 * The `_changes` hot path at the byte level: a page of rows is assembled in one Buffer, and the
 * common row (a document last written through HTTP, unconflicted, no body asked for) is copied
 * straight from the record bytes: id from the key, rev from the `_sync` summary at the front of
 * the xattrs, which already holds it as a JSON string. No string is decoded, parsed, escaped or
 * re-encoded for such a row; those steps were about a third of the cost of `_changes?since=0`
 * (CPU profile, issue 6). Anything unusual (non-ASCII or escaped ids and revs, conflicts,
 * KV-written documents, another summary layout, and every record of a named collection, whose
 * format 2 puts the collection id before the key) gets null here and is built by changes-rows.ts.
 *
 * The summary layout is sync-layout.ts's (`{"_sync":{"v":1,"rs":N,"rev":"R","del":D,"nl":1,`,
 * read from at most SUMMARY_PREFIX_CHARS bytes), the record offsets the engine's
 * (record-view.ts); test/couchdb/changes-bytes.test.ts checks that this reader and doc-sync.ts's
 * summaryFromPrefix agree.
 */
import { RecordOffsets } from '../engine/record-view.js';
import * as layout from './sync-layout.js';

const { FORMAT, REV_SEQNO, KEY_LEN, XATTR_LEN, HEADER, NO_XATTRS } = RecordOffsets;
const { SUMMARY_PREFIX_CHARS, DEL_AT } = layout;

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const SUMMARY_HEAD = ascii(layout.SUMMARY_HEAD);
const REV_KEY = ascii(layout.REV_KEY);
const TAIL_LIVE = ascii(layout.TAIL_LIVE);
const ROW_SEQ = ascii('{"seq":');
const ROW_ID = ascii(',"id":"');
const ROW_CHANGES = ascii('","changes":[{"rev":"');
const ROW_END = ascii('"}]}');
const ROW_END_DELETED = ascii('"}],"deleted":true}');
const DESIGN = ascii('_design/');

/**
 * A growable output buffer for the pages of one feed. It is reused from page to page, and `take`
 * copies a page out at its exact size: a live feed sends pages of one row, and handing out the
 * whole buffer would mean a fresh large allocation per row (external memory that drives the GC,
 * which showed as write-to-row latency spikes).
 */
export class ByteSink {
  buf: Buffer;
  len = 0;

  constructor(initial = 8 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Make room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Append bytes (short constants: a loop beats a native call). */
  put(bytes: Uint8Array): void {
    this.room(bytes.length);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < bytes.length; i++) buf[at++] = bytes[i]!;
    this.len = at;
  }

  /** Append a non-negative safe integer in decimal. */
  int(n: number): void {
    this.room(16);
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    const buf = this.buf;
    let at = this.len + digits;
    this.len = at;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** Append text as UTF-8. */
  text(s: string): void {
    this.room(Buffer.byteLength(s));
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** A copy of the bytes so far (the socket may hold it while the sink is reused), emptying the sink. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    return out;
  }
}

/** Bytes that JSON can carry inside a string unescaped, and that are valid UTF-8 on their own. */
function plainAscii(raw: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = raw[i]!;
    if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) return false;
  }
  return true;
}

function startsWith(raw: Uint8Array, at: number, end: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > end) return false;
  for (let i = 0; i < bytes.length; i++) if (raw[at + i] !== bytes[i]) return false;
  return true;
}

function u16(v: Uint8Array, at: number): number {
  return (v[at]! << 8) | v[at + 1]!;
}

function u32(v: Uint8Array, at: number): number {
  return v[at]! * 0x100_0000 + ((v[at + 1]! << 16) | (v[at + 2]! << 8) | v[at + 3]!);
}

/**
 * A plain Uint8Array over the record's memory. lmdb-js hands out one shared buffer whose `length`
 * it redefines per read (read.js getBinaryFast); indexing such an object goes through V8's slow
 * element path, so the loops below read through an ordinary view of the same ArrayBuffer, made
 * once per underlying buffer.
 */
let viewOf: ArrayBufferLike | null = null;
let view: Uint8Array = new Uint8Array(0);
function plainView(raw: Buffer): Uint8Array {
  if (raw.buffer !== viewOf) {
    viewOf = raw.buffer;
    view = new Uint8Array(raw.buffer);
  }
  return view;
}

/** What the fast row found, for the caller's filters; offsets index `bytes`. */
export interface FastRow {
  bytes: Uint8Array;
  deleted: boolean;
  idStart: number;
  idEnd: number;
  revStart: number;
  revEnd: number;
}

/**
 * Locate the id and the single rev of a plain record, or return null when the record needs the
 * full path. `record` (and so the row's `bytes`) is only valid during the scan's visit.
 */
export function readFastRow(record: Buffer): FastRow | null {
  const raw = plainView(record);
  const o = record.byteOffset;
  const size = record.length;
  if (size < HEADER || raw[o] !== FORMAT) return null;
  const idStart = o + HEADER;
  const idEnd = idStart + u16(raw, o + KEY_LEN);
  if (idEnd > o + size || !plainAscii(raw, idStart, idEnd)) return null;
  const xl = u32(raw, o + XATTR_LEN);
  if (xl === NO_XATTRS || xl === 0) return null;
  const end = Math.min(idEnd + Math.min(xl, SUMMARY_PREFIX_CHARS), o + size);
  let at = idEnd;
  if (!startsWith(raw, at, end, SUMMARY_HEAD)) return null;
  at += SUMMARY_HEAD.length;
  let rs = 0;
  const digitsAt = at;
  while (at < end && raw[at]! >= 0x30 && raw[at]! <= 0x39) rs = rs * 10 + (raw[at++]! - 0x30);
  if (at === digitsAt || at >= end || raw[at] !== 0x2c) return null;
  if (rs !== u32(raw, o + REV_SEQNO) * 0x1_0000_0000 + u32(raw, o + REV_SEQNO + 4)) return null;
  at++;
  if (!startsWith(raw, at, end, REV_KEY)) return null;
  const revStart = at + REV_KEY.length;
  // The rev is a JSON string already: it holds no raw control character or quote, so ASCII
  // without a backslash (no escape) can be copied as it is.
  let revEnd = revStart;
  for (let b = raw[revEnd]; revEnd < end && b !== 0x22; b = raw[++revEnd]) {
    if (b === 0x5c || b! > 0x7e) return null;
  }
  if (revEnd >= end || revEnd === revStart) return null;
  if (revEnd + TAIL_LIVE.length > end) return null;
  for (let i = 0; i < TAIL_LIVE.length; i++) {
    if (i !== DEL_AT && raw[revEnd + i] !== TAIL_LIVE[i]) return null;
  }
  const del = raw[revEnd + DEL_AT];
  if (del !== 0x30 && del !== 0x31) return null;
  return { bytes: raw, deleted: del === 0x31, idStart, idEnd, revStart, revEnd };
}

export function isDesignRow(row: FastRow): boolean {
  return startsWith(row.bytes, row.idStart, row.idEnd, DESIGN);
}

/** The id as a string (ASCII, so latin1 is its UTF-8). */
export function fastRowId(row: FastRow): string {
  const v = row.bytes;
  return Buffer.from(v.buffer, v.byteOffset + row.idStart, row.idEnd - row.idStart).toString('latin1');
}

/** Append `{"seq":S,"id":"…","changes":[{"rev":"…"}]("deleted":true)?}`; seq null when `seq` < 0. */
export function putFastRow(sink: ByteSink, row: FastRow, seq: number): void {
  const raw = row.bytes;
  sink.put(ROW_SEQ);
  if (seq < 0) sink.put(NULL);
  else sink.int(seq);
  sink.put(ROW_ID);
  const idLen = row.idEnd - row.idStart;
  const revLen = row.revEnd - row.revStart;
  sink.room(idLen + revLen + ROW_CHANGES.length + ROW_END_DELETED.length);
  const buf = sink.buf;
  let at = sink.len;
  for (let i = row.idStart; i < row.idEnd; i++) buf[at++] = raw[i]!;
  for (let i = 0; i < ROW_CHANGES.length; i++) buf[at++] = ROW_CHANGES[i]!;
  for (let i = row.revStart; i < row.revEnd; i++) buf[at++] = raw[i]!;
  const tail = row.deleted ? ROW_END_DELETED : ROW_END;
  for (let i = 0; i < tail.length; i++) buf[at++] = tail[i]!;
  sink.len = at;
}

const NULL = ascii('null');
