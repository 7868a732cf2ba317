/**
 * Deciding a TAP_CONNECT: what each vbucket of the new stream starts from, or why the request is
 * refused. Source: ep-engine TapProducer::setBackfillAge / TapConnMap::newProducer
 * (tap_connection.cc, tapconnmap.cc), docs/TAP.md; shared/specs/tap-xdcr-collections.md §1.
 *
 * - BACKFILL with a date in the past (0 = the epoch) backfills everything, then goes live;
 *   ep-engine compares the date with its clock only (`backfillAge < ep_real_time()`), it never
 *   filtered items by age, and neither does Freshet. 0xFFFFFFFFFFFFFFFF or any future date, or no
 *   BACKFILL at all: only changes after the connect (each vbucket starts at its high seqno now).
 * - DUMP: everything that exists, then the connection closes.
 * - LIST_VBUCKETS restricts the stream (an empty list = all vbuckets); ids must exist.
 * - REGISTERED_CLIENT needs a name; a cursor left by an earlier connection of that name decides
 *   where each of its vbuckets resumes (no second backfill), clamped to the high seqno.
 * - TAKEOVER_VBUCKETS is refused (NotSupported): handing a vbucket over means setting it dead here
 *   and active on the client's node, which has no meaning on a single-node Freshet.
 * - Flag bits above FIX_FLAG_BYTEORDER are refused (Einval) rather than silently ignored.
 */
import { Status } from '../codec/status.js';
import { TAP_BACKFILL_FUTURE_ONLY, TapConnectFlag, type TapConnectRequest } from '../codec/ops/tap.js';
import type { Bucket } from '../engine/bucket.js';
import type { TapCursor } from './registry.js';
import type { VbStreamPlan } from './vb-stream.js';

const KNOWN_FLAGS = 0x1ff;

export interface TapPlan {
  readonly name: string;
  readonly flags: number;
  readonly dump: boolean;
  readonly supportAck: boolean;
  readonly keysOnly: boolean;
  readonly checkpoints: boolean;
  readonly registered: boolean;
  /** FIX_FLAG_BYTEORDER: the client is told (TAP_FLAG_NETWORK_BYTE_ORDER) that item flags are big-endian. */
  readonly networkByteOrder: boolean;
  /** 'all' (backfill), 'future' (from now on) or 'resume' (a registered cursor). */
  readonly mode: 'all' | 'future' | 'resume';
  readonly streams: readonly VbStreamPlan[];
}

export type ConnectDecision = { readonly ok: true; readonly plan: TapPlan } | { readonly ok: false; readonly status: number; readonly reason: string };

function refuse(status: number, reason: string): ConnectDecision {
  return { ok: false, status, reason };
}

export function decideConnect(req: TapConnectRequest, bucket: Bucket, cursor: TapCursor | undefined, nowSeconds: number): ConnectDecision {
  const f = req.flags;
  if ((f & ~KNOWN_FLAGS) !== 0) return refuse(Status.Einval, `unknown TAP_CONNECT flags 0x${(f & ~KNOWN_FLAGS).toString(16)}`);
  if (f & TapConnectFlag.TakeoverVbuckets) {
    return refuse(Status.NotSupported, 'TAP takeover (handing vbuckets over to another node) is not supported by a single-node Freshet');
  }
  const registered = (f & TapConnectFlag.RegisteredClient) !== 0;
  if (registered && req.name === '') return refuse(Status.Einval, 'a registered TAP client needs a name (the key)');
  const n = bucket.numVBuckets;
  const listed = req.vbuckets ?? [];
  for (const vb of listed) if (vb >= n) return refuse(Status.Einval, `vbucket ${vb} does not exist (the bucket has ${n})`);
  const vbuckets = listed.length > 0 ? [...new Set(listed)] : Array.from({ length: n }, (_, i) => i);
  const dump = (f & TapConnectFlag.Dump) !== 0;
  const backfillAll = dump || ((f & TapConnectFlag.Backfill) !== 0 && req.backfill !== TAP_BACKFILL_FUTURE_ONLY && (req.backfill ?? 0n) <= BigInt(nowSeconds));
  const checkpoints = (f & TapConnectFlag.Checkpoint) !== 0;
  const lastCheckpoint = new Map((req.checkpoints ?? []).map((c) => [c.vbucket, c.checkpointId]));
  const resume = registered && cursor !== undefined;
  const streams = vbuckets.map((vbucket): VbStreamPlan => {
    const high = bucket.vbucket(vbucket).highSeqno;
    const at = resume ? cursor.positions.get(vbucket) : undefined;
    const common = { vbucket, dump, checkpoints, lastCheckpointId: lastCheckpoint.get(vbucket) ?? 0n };
    if (at !== undefined) return { ...common, start: Math.min(at, high), backfill: false };
    return backfillAll ? { ...common, start: 0, backfill: true } : { ...common, start: high, backfill: false };
  });
  return {
    ok: true,
    plan: {
      name: req.name,
      flags: f,
      dump,
      supportAck: (f & TapConnectFlag.SupportAck) !== 0,
      keysOnly: (f & TapConnectFlag.RequestKeysOnly) !== 0,
      checkpoints,
      registered,
      networkByteOrder: (f & TapConnectFlag.FixFlagByteorder) !== 0,
      mode: resume ? 'resume' : backfillAll ? 'all' : 'future',
      streams,
    },
  };
}
