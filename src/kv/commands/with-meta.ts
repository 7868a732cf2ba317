/**
 * XMEM: XDCR's writes over KV — SET_WITH_META, ADD_WITH_META, DEL_WITH_META and their quiet forms
 * (wire layout in codec/ops/with-meta.ts, semantics and conflict resolution in
 * engine/with-meta.ts).
 *
 * - The value may start with an xattr section (datatype 0x04, kv docs/Document.md): the xattrs are
 *   stored with the version, a malformed section answers XATTR_EINVAL as kv's validator does. A
 *   with-meta write may carry XATTR without HELLO XATTR (goxdcr sends what the source stored);
 *   SNAPPY is refused (EINVAL) because Freshet never grants it.
 * - Quiet forms answer only failures, a lost conflict (KEY_EEXISTS) included.
 * - The reply carries the stored CAS and, with MUTATION_SEQNO, the mutation token.
 * Rights: SET needs Upsert, ADD Insert or Upsert, DEL Delete on the key's collection (kv
 * mcbp_privileges.cc; access.ts), i.e. data_writer or a bucket admin.
 */
import { Opcode, isQuietOpcode } from '../../codec/opcodes.js';
import { Status } from '../../codec/status.js';
import { Datatype } from '../../codec/datatype.js';
import { Feature } from '../../codec/features.js';
import type { Packet } from '../../codec/packet.js';
import { decodeWithMetaRequest, WITH_META_OPCODES } from '../../codec/ops/with-meta.js';
import { encodeMutationResponseFrame } from '../../codec/ops/mutation.js';
import { splitXattrValue, XattrBlobError } from '../../codec/xattr.js';
import type { WithMetaOptions } from '../../engine/with-meta.js';
import { KvReplyError } from '../errors.js';
import { collectionOf, documentKey } from './keys.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';

const MODES: Record<number, WithMetaOptions['mode']> = {
  [Opcode.SetWithMeta]: 'set',
  [Opcode.SetQWithMeta]: 'set',
  [Opcode.AddWithMeta]: 'add',
  [Opcode.AddQWithMeta]: 'add',
  [Opcode.DelWithMeta]: 'delete',
  [Opcode.DelQWithMeta]: 'delete',
};

function splitValue(value: Buffer, datatype: number): { body: Buffer; xattrs: Buffer | null } {
  if ((datatype & ~(Datatype.Json | Datatype.Xattr)) !== 0) {
    throw new KvReplyError(Status.Einval, `datatype 0x${datatype.toString(16)} is not accepted (no snappy)`);
  }
  if ((datatype & Datatype.Xattr) === 0) return { body: value, xattrs: null };
  try {
    const split = splitXattrValue(value);
    return { body: split.body, xattrs: split.xattrs };
  } catch (err) {
    if (err instanceof XattrBlobError) throw new KvReplyError(Status.XattrEinval, err.message);
    throw err;
  }
}

async function withMeta(session: Session, req: Packet): Promise<Reply> {
  const r = decodeWithMetaRequest(req);
  const mode = MODES[req.opcode]!;
  const { body, xattrs } = splitValue(r.value, r.datatype);
  const written = await collectionOf(session, r.key).writeWithMeta(
    documentKey(session, r.key),
    { cas: r.metaCas, revSeqno: r.revSeqno, flags: r.flags, expiry: r.expiry, deleted: mode === 'delete', datatype: r.datatype, xattrs },
    body,
    { options: r.options, expectCas: r.cas, mode },
    req.vbucket,
  );
  if (isQuietOpcode(req.opcode)) return null;
  const token = session.features.has(Feature.MutationSeqno) ? { vbUuid: written.token.vbuuid, seqno: written.token.seqno } : undefined;
  return encodeMutationResponseFrame(req.opcode, req.opaque, written.cas, token);
}

export const WITH_META_COMMANDS: readonly CommandSpec[] = WITH_META_OPCODES.map((opcode) => ({ opcode, handler: withMeta, auth: true, bucket: true }));
