/**
 * Flexible framing extras ("FrameInfo" objects), present only with magics 0x08/0x18.
 * Source: kv docs/BinaryProtocol.md "Request header with flexible framing extras",
 * "Response header with flexible framing extras"; dcp.md §1.2.
 *
 * Each FrameInfo:
 *   byte 0: high nibble = object id, low nibble = length
 *   id nibble 15     -> id = 15 + next byte
 *   length nibble 15 -> length = 15 + next byte (after any id escape byte)
 *   then `length` bytes of data.
 * So ids and lengths range over 0..270.
 *
 * Request ids 0-7 and response ids 0-3 are defined; unknown ids decode generically
 * (the server answers UnknownFrameInfo 0x80 for ones it does not know).
 */
import { ProtocolError } from './errors.js';

export interface FrameInfo {
  readonly id: number;
  readonly data: Buffer;
}

export const REQUEST_FRAME_TABLE = [
  { id: 0, name: 'Barrier' }, // len 0: do not reorder around this command
  { id: 1, name: 'DurabilityRequirement' }, // len 1 or 3: level [+ timeout ms]
  { id: 2, name: 'DcpStreamId' }, // len 2: uint16 stream id
  { id: 3, name: 'OpenTracingContext' }, // unused by current servers
  { id: 4, name: 'Impersonate' }, // user name
  { id: 5, name: 'PreserveTtl' }, // len 0
  { id: 6, name: 'ImpersonateExtraPrivilege' },
  { id: 7, name: 'ImpersonateWithTokenAuth' },
] as const;

export const RESPONSE_FRAME_TABLE = [
  { id: 0, name: 'ServerRecvSendDuration' }, // 2 bytes, variable precision (see below)
  { id: 1, name: 'ReadUnits' },
  { id: 2, name: 'WriteUnits' },
  { id: 3, name: 'ThrottleDuration' }, // same encoding as 0
] as const;

export const RequestFrameId = Object.fromEntries(REQUEST_FRAME_TABLE.map((f) => [f.name, f.id])) as {
  readonly [K in (typeof REQUEST_FRAME_TABLE)[number]['name']]: Extract<
    (typeof REQUEST_FRAME_TABLE)[number],
    { name: K }
  >['id'];
};

export const ResponseFrameId = Object.fromEntries(RESPONSE_FRAME_TABLE.map((f) => [f.name, f.id])) as {
  readonly [K in (typeof RESPONSE_FRAME_TABLE)[number]['name']]: Extract<
    (typeof RESPONSE_FRAME_TABLE)[number],
    { name: K }
  >['id'];
};

const MAX_ESCAPED = 15 + 255;

export function encodeFrameInfos(frames: readonly FrameInfo[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const len = f.data.length;
    if (!Number.isInteger(f.id) || f.id < 0 || f.id > MAX_ESCAPED) {
      throw new ProtocolError('VALUE_RANGE', `frame info id ${f.id} not encodable (0..${MAX_ESCAPED})`);
    }
    if (len > MAX_ESCAPED) {
      throw new ProtocolError('VALUE_RANGE', `frame info length ${len} not encodable (0..${MAX_ESCAPED})`);
    }
    const head: number[] = [((f.id < 15 ? f.id : 15) << 4) | (len < 15 ? len : 15)];
    if (f.id >= 15) head.push(f.id - 15);
    if (len >= 15) head.push(len - 15);
    parts.push(Buffer.from(head), f.data);
  }
  return Buffer.concat(parts);
}

export function decodeFrameInfos(buf: Buffer): FrameInfo[] {
  const out: FrameInfo[] = [];
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) {
      throw new ProtocolError('BAD_FRAME_INFO', 'frame info runs past the framing extras', { offset: pos });
    }
  };
  while (pos < buf.length) {
    const first = buf[pos++] as number;
    let id = first >> 4;
    let len = first & 0x0f;
    if (id === 15) {
      need(1);
      id += buf[pos++] as number;
    }
    if (len === 15) {
      need(1);
      len += buf[pos++] as number;
    }
    need(len);
    out.push({ id, data: buf.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

/** Data of the first frame with `id`, or undefined. */
export function findFrameInfo(framingExtras: Buffer, id: number): Buffer | undefined {
  if (framingExtras.length === 0) return undefined;
  return decodeFrameInfos(framingExtras).find((f) => f.id === id)?.data;
}

// --- typed request frames ---------------------------------------------------

export const DurabilityLevel = {
  Majority: 0x01,
  MajorityAndPersistOnMaster: 0x02,
  PersistToMajority: 0x03,
} as const;

export interface DurabilityRequirement {
  readonly level: number;
  /** 1..65534 ms; 0 and 0xffff are reserved (server answers Einval). Absent = server default. */
  readonly timeoutMs?: number;
}

export function durabilityFrame(req: DurabilityRequirement): FrameInfo {
  if (req.timeoutMs === undefined) return { id: RequestFrameId.DurabilityRequirement, data: Buffer.from([req.level]) };
  if (!Number.isInteger(req.timeoutMs) || req.timeoutMs < 1 || req.timeoutMs > 0xfffe) {
    throw new ProtocolError('VALUE_RANGE', `durability timeout ${req.timeoutMs} outside 1..65534`);
  }
  const data = Buffer.alloc(3);
  data[0] = req.level;
  data.writeUInt16BE(req.timeoutMs, 1);
  return { id: RequestFrameId.DurabilityRequirement, data };
}

export function decodeDurability(data: Buffer): DurabilityRequirement {
  if (data.length === 1) return { level: data[0] as number };
  if (data.length === 3) return { level: data[0] as number, timeoutMs: data.readUInt16BE(1) };
  throw new ProtocolError('BAD_FRAME_INFO', `durability frame must be 1 or 3 bytes, got ${data.length}`);
}

export function streamIdFrame(streamId: number): FrameInfo {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(streamId);
  return { id: RequestFrameId.DcpStreamId, data };
}

/** The DCP stream id carried in framing extras, if any (dcp.md §1.2, id 2, len 2). */
export function decodeStreamId(framingExtras: Buffer): number | undefined {
  const data = findFrameInfo(framingExtras, RequestFrameId.DcpStreamId);
  if (data === undefined) return undefined;
  if (data.length !== 2) throw new ProtocolError('BAD_FRAME_INFO', `stream-id frame must be 2 bytes, got ${data.length}`);
  return data.readUInt16BE(0);
}

export function preserveTtlFrame(): FrameInfo {
  return { id: RequestFrameId.PreserveTtl, data: Buffer.alloc(0) };
}

// --- typed response frames --------------------------------------------------

/** encoded = (micros * 2) ^ (1 / 1.74), clamped to u16 (BinaryProtocol.md). */
export function encodeServerDuration(micros: number): number {
  const encoded = Math.round(Math.pow(Math.max(0, micros) * 2, 1 / 1.74));
  return Math.min(encoded, 0xffff);
}

/** decoded = (encoded ^ 1.74) / 2, in microseconds. */
export function decodeServerDuration(encoded: number): number {
  return Math.pow(encoded, 1.74) / 2;
}

export function serverDurationFrame(micros: number): FrameInfo {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(encodeServerDuration(micros));
  return { id: ResponseFrameId.ServerRecvSendDuration, data };
}
