/**
 * The collection STAT groups, with kv_engine's key names (ep collections/manager.cc
 * `doCollectionStats` / `doScopeStats`, as cbstats and testrunner's CollectionsStats read them):
 *
 * - `collections [scope.collection]`, `collections-byid <id>`: `manifest_uid`, then per
 *   collection `<sid>:<cid>:name`, `:scope_name`, `:items`, and `:maxTTL` when it has one
 *   (ids in hex with 0x, e.g. `0x0:0x8:items`);
 * - `scopes [scope]`, `scopes-byid <id>`: `manifest_uid`, then per scope `<sid>:name`,
 *   `<sid>:collections` (how many) and `<sid>:<cid>:name` for each of its collections;
 * - `collections-details [vb]`: per vbucket `vb_<n>:manifest:uid`, `vb_<n>:manifest:entries`,
 *   `vb_<n>:manifest:default_exists` and per collection `vb_<n>:<cid>:name`, `:scope_name`,
 *   `:high_seqno`, `:maxTTL`;
 * - `scopes-details [vb]`: per vbucket `vb_<n>:manifest:scopes` and `vb_<n>:<sid>:name`.
 *
 * Item counts come from `bucket.docCounts().byCollection` (engine/doc-counts.ts), high seqnos
 * from `bucket.collectionHighSeqno`. A name or id that is not in the manifest answers
 * UNKNOWN_COLLECTION / UNKNOWN_SCOPE with the manifest uid, as kv does.
 */
import { EngineError } from '../../engine/errors.js';
import type { Bucket } from '../../engine/bucket.js';
import type { CollectionEntry, Manifest, ScopeEntry } from '../../engine/manifest.js';
import type { Session } from '../session.js';
import type { StatGroup, StatPairs } from '../command-spec.js';
import { collectionIdOfPath, scopeIdOfPath } from './collections.js';

const hex = (id: number): string => `0x${id.toString(16)}`;

function selected(session: Session): Bucket {
  if (!session.bucket) throw new EngineError('NO_BUCKET', 'select a bucket first');
  return session.bucket;
}

/** A hex id argument (`0x8` or `8`, as cbstats passes it). */
function idArg(arg: string | undefined): number {
  const id = arg === undefined ? NaN : Number.parseInt(arg.replace(/^0x/i, ''), 16);
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff || !/^(0x)?[0-9a-f]+$/i.test(arg ?? '')) {
    throw new EngineError('EINVAL', `bad id ${JSON.stringify(arg)}`);
  }
  return id;
}

function unknown(manifest: Manifest, kind: 'UNKNOWN_COLLECTION' | 'UNKNOWN_SCOPE', id: number): EngineError {
  return new EngineError(kind, `id ${hex(id)} is not in manifest ${manifest.uid.toString(16)}`, { manifestUid: manifest.uid });
}

function collectionPairs(bucket: Bucket, entries: readonly CollectionEntry[]): StatPairs {
  const manifest = bucket.manifest;
  const counts = bucket.docCounts().byCollection;
  const pairs: StatPairs = [['manifest_uid', manifest.uid]];
  for (const c of entries) {
    const prefix = `${hex(c.scopeId)}:${hex(c.id)}`;
    pairs.push([`${prefix}:name`, c.name], [`${prefix}:scope_name`, manifest.scope(c.scopeId)?.name ?? '']);
    pairs.push([`${prefix}:items`, counts.get(c.id)?.docCount ?? 0]);
    if (c.maxTTL > 0) pairs.push([`${prefix}:maxTTL`, c.maxTTL]);
  }
  return pairs;
}

function scopePairs(manifest: Manifest, scopes: readonly ScopeEntry[]): StatPairs {
  const pairs: StatPairs = [['manifest_uid', manifest.uid]];
  for (const s of scopes) {
    const members = manifest.collectionsOf(s.id);
    pairs.push([`${hex(s.id)}:name`, s.name], [`${hex(s.id)}:collections`, members.length]);
    for (const c of members) pairs.push([`${hex(s.id)}:${hex(c.id)}:name`, c.name]);
  }
  return pairs;
}

/** The vbuckets a details group covers: one named in the arguments, or all. */
function vbucketIds(bucket: Bucket, arg: string | undefined): number[] {
  if (arg === undefined) return Array.from({ length: bucket.numVBuckets }, (_, vb) => vb);
  const vb = Number(arg);
  if (!Number.isInteger(vb) || vb < 0 || vb >= bucket.numVBuckets) throw new EngineError('EINVAL', `bad vbucket ${arg}`);
  return [vb];
}

const collections: StatGroup = (session, args) => {
  const bucket = selected(session);
  const manifest = bucket.manifest;
  if (args[0] === undefined) return collectionPairs(bucket, manifest.collections);
  return collectionPairs(bucket, [manifest.collection(collectionIdOfPath(manifest, args[0]))!]);
};

const collectionsById: StatGroup = (session, args) => {
  const bucket = selected(session);
  const id = idArg(args[0]);
  const entry = bucket.manifest.collection(id);
  if (!entry) throw unknown(bucket.manifest, 'UNKNOWN_COLLECTION', id);
  return collectionPairs(bucket, [entry]);
};

const scopes: StatGroup = (session, args) => {
  const manifest = selected(session).manifest;
  if (args[0] === undefined) return scopePairs(manifest, manifest.scopes);
  return scopePairs(manifest, [manifest.scope(scopeIdOfPath(manifest, args[0]))!]);
};

const scopesById: StatGroup = (session, args) => {
  const manifest = selected(session).manifest;
  const id = idArg(args[0]);
  const entry = manifest.scope(id);
  if (!entry) throw unknown(manifest, 'UNKNOWN_SCOPE', id);
  return scopePairs(manifest, [entry]);
};

const collectionsDetails: StatGroup = (session, args) => {
  const bucket = selected(session);
  const manifest = bucket.manifest;
  const pairs: StatPairs = [];
  for (const vb of vbucketIds(bucket, args[0])) {
    pairs.push([`vb_${vb}:manifest:uid`, manifest.uid], [`vb_${vb}:manifest:entries`, manifest.collections.length]);
    pairs.push([`vb_${vb}:manifest:default_exists`, manifest.hasCollection(0)]);
    for (const c of manifest.collections) {
      const prefix = `vb_${vb}:${hex(c.id)}`;
      pairs.push([`${prefix}:name`, c.name], [`${prefix}:scope_name`, manifest.scope(c.scopeId)?.name ?? '']);
      pairs.push([`${prefix}:high_seqno`, bucket.collectionHighSeqno(vb, c.id)]);
      if (c.maxTTL > 0) pairs.push([`${prefix}:maxTTL`, c.maxTTL]);
    }
  }
  return pairs;
};

const scopesDetails: StatGroup = (session, args) => {
  const bucket = selected(session);
  const manifest = bucket.manifest;
  const pairs: StatPairs = [];
  for (const vb of vbucketIds(bucket, args[0])) {
    pairs.push([`vb_${vb}:manifest:scopes`, manifest.scopes.length]);
    for (const s of manifest.scopes) pairs.push([`vb_${vb}:${hex(s.id)}:name`, s.name]);
  }
  return pairs;
};

export const COLLECTION_STAT_GROUPS: Readonly<Record<string, StatGroup>> = {
  collections,
  'collections-byid': collectionsById,
  scopes,
  'scopes-byid': scopesById,
  'collections-details': collectionsDetails,
  'scopes-details': scopesDetails,
};
