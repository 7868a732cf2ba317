/**
 * XDCR checkpoint opaques on the target side: the "vbopaque" is the vbucket's current failover
 * uuid, and a "commitopaque" is `[vbuuid, seqno]`, the position a checkpoint was committed at.
 * A source keeps them with its checkpoints and asks the target whether they still hold: after a
 * failover (a new failover-log entry, a new uuid) the vbopaque no longer matches, and a
 * commitopaque is valid only if its seqno is still on the history of its uuid.
 *
 * Forms accepted, as goxdcr sends and parses them (service_impl/capi_service.go): a number (the
 * vbuuid, newer clusters), a decimal string (Elasticsearch, older clusters), or a pair
 * `[vbuuidString, startupTimeString]` (pre-3.0 clusters); a commitopaque `[uuid, seqno]` (newer)
 * or the vbuuid alone (older).
 */
import type { FailoverEntry } from '../engine/types.js';

/** The vbuuid an opaque names; undefined when it is not an opaque at all. */
export function opaqueUuid(opaque: unknown): number | undefined {
  if (typeof opaque === 'number') return Number.isSafeInteger(opaque) && opaque >= 0 ? opaque : undefined;
  if (typeof opaque === 'string') return /^\d{1,16}$/.test(opaque) ? Number(opaque) : undefined;
  if (Array.isArray(opaque) && opaque.length === 2 && typeof opaque[0] === 'string') return opaqueUuid(opaque[0]);
  return undefined;
}

/**
 * Whether a commitopaque is still valid against `log` (newest first), or undefined when it is
 * malformed. ns_server menelaus_web_xdcr_target.erl `validate_commit`: each uuid covers seqnos up
 * to the start of the next newer entry (the newest, up to any), and a seqno below the oldest
 * entry's start is invalid. The older single-uuid form must be the current uuid.
 */
export function commitOpaqueValid(log: readonly FailoverEntry[], commit: unknown): boolean | undefined {
  if (Array.isArray(commit) && commit.length === 2 && typeof commit[0] === 'number' && typeof commit[1] === 'number') {
    const [uuid, seqno] = commit as [number, number];
    if (!Number.isSafeInteger(uuid) || !Number.isSafeInteger(seqno) || seqno < 0) return undefined;
    const oldest = log[log.length - 1];
    if (oldest === undefined || seqno < oldest.seqno) return false;
    return log.some((entry, i) => entry.uuid === uuid && (i === 0 || seqno <= log[i - 1]!.seqno));
  }
  const single = opaqueUuid(commit);
  if (single === undefined) return undefined;
  return single === log[0]?.uuid;
}
