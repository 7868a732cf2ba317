/**
 * STAT `key <key> <vbucket>` and `vkey <key> <vbucket>`: one document's metadata, what `cbstats
 * key` and the older SDKs' keyStats read (kv_engine engines/ep/src/ep_engine.cc `doKeyStats`,
 * testsuite `test_key_stats`): key_is_dirty, key_exptime (absolute, 0 = never), key_flags,
 * key_cas, key_vb_state, and for `vkey` key_valid. A missing, deleted or expired document is
 * KEY_ENOENT; a vbucket that is neither active nor replica here is NOT_MY_VBUCKET; missing
 * arguments are EINVAL. The key is one in the `_default` collection (the optional collection
 * argument of kv 7.x is not supported: EINVAL). Also `uuid`, the bucket's uuid.
 */
import { EngineError } from '../../engine/errors.js';
import { isExpired, nowSeconds } from '../../engine/expiry.js';
import type { Item } from '../../engine/types.js';
import type { Session } from '../session.js';
import type { StatGroup, StatPairs } from '../command-spec.js';

function keyStats(session: Session, args: string[], validate: boolean): StatPairs {
  const bucket = session.bucket;
  if (!bucket) throw new EngineError('NO_BUCKET', 'select a bucket first');
  const [key, vbText] = args;
  if (key === undefined || vbText === undefined || args.length > 2) {
    throw new EngineError('EINVAL', 'expected "key <key> <vbucket>"');
  }
  const vb = Number(vbText);
  if (!/^[0-9]+$/.test(vbText)) throw new EngineError('EINVAL', `bad vbucket ${vbText}`);
  // A vbucket this bucket does not have is not here, as for the other per-vbucket groups.
  if (vb >= bucket.numVBuckets) throw new EngineError('NOT_MY_VBUCKET', `no vbucket ${vb}`);
  const info = bucket.vbucketInfo(vb);
  const collection = bucket.collection(0);
  let item: Item | undefined;
  if (info.state === 'replica') item = collection.replicaLookup(key, vb);
  else if (info.state === 'active') item = collection.getMeta(key, vb);
  else throw new EngineError('NOT_MY_VBUCKET', `vbucket ${vb} is ${info.state} here`);
  if (!item || item.deleted || (item.expiry !== 0 && isExpired(item.expiry, nowSeconds()))) throw new EngineError('KEY_ENOENT');
  const pairs: StatPairs = [
    // kv reports its booleans as "true"/"false".
    ['key_is_dirty', item.seqno > info.persistedSeqno ? 'true' : 'false'],
    ['key_exptime', item.expiry],
    ['key_flags', item.flags],
    ['key_cas', item.cas],
    ['key_vb_state', info.state],
  ];
  if (validate) pairs.push(['key_valid', 'valid']);
  return pairs;
}

/** STAT `uuid`: the bucket's uuid (kv ep_engine.cc getStats "uuid", what `cbstats uuid` prints). */
function uuidGroup(session: Session): StatPairs {
  const bucket = session.bucket;
  if (!bucket) throw new EngineError('NO_BUCKET', 'select a bucket first');
  return [['uuid', bucket.uuid]];
}

export const KEY_STAT_GROUPS: Readonly<Record<string, StatGroup>> = {
  uuid: uuidGroup,
  key: (session, args) => keyStats(session, args, false),
  vkey: (session, args) => keyStats(session, args, true),
};
