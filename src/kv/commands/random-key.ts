/**
 * GET_RANDOM_KEY (0xb6; kv_engine docs/BinaryProtocol.md): a random live document of a collection,
 * what tools that sample a bucket send (SQL++ `INFER`, Analytics). The request's extras are empty
 * or, on a connection that negotiated Collections, the collection id (u32, 7.0+); the response is
 * a GET's (flags extras, value, CAS, datatype) with the key, collection-prefixed when Collections
 * was negotiated. KeyEnoent when the collection holds no live document; Read on it is required.
 *
 * The pick: a random active vbucket, then a random key of it (engine/range-scan.ts `sampleKeys`),
 * trying the next vbuckets when one has none, so every vbucket is looked at most once.
 */
import { randomInt } from 'node:crypto';
import { joinCollectionKey } from '../../codec/leb128.js';
import { encodeGetResponseFrame } from '../../codec/ops/get.js';
import { expectKey, expectNoValue, layoutError } from '../../codec/layout.js';
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import { Status } from '../../codec/status.js';
import { Privilege } from '../../auth/roles.js';
import { sampleKeys } from '../../engine/range-scan.js';
import { requireCollectionPrivilege } from '../access.js';
import { errorReply } from '../replies.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';
import { collectionsEnabled, outgoingDatatype } from './keys.js';

function requestedCollection(session: Session, req: Packet): number {
  expectKey(req, false);
  expectNoValue(req);
  if (req.extras.length === 0) return 0;
  if (req.extras.length !== 4 || !collectionsEnabled(session)) throw layoutError(req, 'GET_RANDOM_KEY takes a 4-byte collection id, with Collections negotiated');
  return req.extras.readUInt32BE(0);
}

function getRandomKey(session: Session, req: Packet): Reply {
  const bucket = session.bucket!;
  const cid = requestedCollection(session, req);
  if (!bucket.manifest.hasCollection(cid)) throw bucket.manifest.unknownCollection(cid);
  requireCollectionPrivilege(session, cid, Privilege.Read);
  const collection = bucket.collection(cid);
  const n = bucket.numVBuckets;
  const first = randomInt(n);
  for (let i = 0; i < n; i++) {
    const vb = (first + i) % n;
    if (bucket.vbucketInfo(vb).state !== 'active') continue;
    // A few keys per vbucket in one pass, tried from a random one on: a tombstone is skipped, as
    // kv_engine skips deleted items.
    const picks = sampleKeys(bucket, vb, cid, 4, randomInt(0x7fffffff));
    const from = picks.length > 0 ? randomInt(picks.length) : 0;
    for (let j = 0; j < picks.length; j++) {
      const key = Buffer.from(picks[(from + j) % picks.length]!, 'latin1');
      const item = collection.current(key);
      if (item === undefined || item.deleted) continue;
      const wireKey = collectionsEnabled(session) ? joinCollectionKey(cid, key) : key;
      return encodeGetResponseFrame(req.opcode, req.opaque, item.cas, item.flags, outgoingDatatype(session, item.datatype), wireKey, item.value);
    }
  }
  return errorReply(session, req, Status.KeyEnoent, 'the collection holds no document');
}

export const RANDOM_KEY_COMMANDS: readonly CommandSpec[] = [{ opcode: Opcode.GetRandomKey, handler: getRandomKey, auth: true, bucket: true }];
