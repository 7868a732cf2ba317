/**
 * `_explain`'s `index_candidates` and `selector_hints` (CouchDB 3.4, apache/couchdb#4662;
 * mango_cursor.erl extract_candidate_indexes/1, enhance_candidates/2, extract_selector_hints/1).
 *
 * Every index but the chosen one is a candidate, with why it was passed over. The stages of the
 * choice (planner.ts PlanTrace) are told apart by set differences, each with a rank, more favoured
 * stages ranking lower:
 *
 *   partial filter, not named by use_index   usable: false   is_partial
 *   of the other partition scope             usable: false   scope_mismatch (a partitioned index
 *                                                            outside a partition, or the reverse)
 *   not usable (usability reasons)           usable: false   field_mismatch / sort_order_mismatch
 *   usable, but use_index named another      usable: true    excluded_by_user
 *   usable, of the unfavoured type           usable: true    unfavored_type (`_all_docs` when a json index serves)
 *   usable, favoured type, ranked lower      usable: true    less_overlap / too_many_fields /
 *                                                            alphabetically_comes_after, ranking = place
 *
 * A candidate shows its first reason only, as CouchDB does. The list comes in descending
 * (ddoc, name) order, `_all_docs` last: CouchDB folds a map keyed by index records, which iterates
 * in key order for up to 32 indexes (with more, Erlang's map order is a hash order, not followed).
 * `selector_hints` lists the fields sorted; CouchDB's come out of an Erlang set in hash order.
 */
import { selectorFields, covers } from './covering.js';
import { indexToJson, type MangoIndex } from './indexes.js';
import type { FindOptions } from './opts.js';
import { indexableFields, indexOrder, type PlanTrace, type Reason } from './planner.js';

interface Tags {
  usable?: boolean;
  reason: Reason[];
  ranking?: number;
}

function minus(a: readonly MangoIndex[], b: readonly MangoIndex[]): MangoIndex[] {
  const drop = new Set(b);
  return a.filter((i) => !drop.has(i));
}

export function indexCandidates(trace: PlanTrace, winner: MangoIndex | null, fields: FindOptions['fields']): unknown[] {
  const partial = minus(trace.all, trace.global);
  const outOfScope = minus(trace.global, trace.inScope);
  const notUsable = minus(trace.inScope, trace.usable);
  const excluded = minus(trace.usable, trace.filtered);
  const unfavored = minus(trace.filtered, trace.ofType);
  // Each stage ranks one below the next more favoured stage that has indexes.
  const unfavoredRank = Math.max(1, trace.sorted.length);
  const excludedRank = unfavoredRank + (unfavored.length > 0 ? 1 : 0);
  const notUsableRank = excludedRank + (excluded.length > 0 ? 1 : 0);
  const outOfScopeRank = notUsableRank + (notUsable.length > 0 ? 1 : 0);
  const partialRank = outOfScopeRank + (outOfScope.length > 0 ? 1 : 0);

  const tags = new Map<MangoIndex, Tags>(trace.all.map((i) => [i, { reason: [] }]));
  // enhance_candidates/2: usable ANDed, reasons appended, rankings added.
  const enhance = (indexes: readonly MangoIndex[], delta: Tags): void => {
    for (const i of indexes) {
      const t = tags.get(i);
      if (t === undefined) continue;
      if (delta.usable !== undefined) t.usable = t.usable === undefined ? delta.usable : t.usable && delta.usable;
      t.reason.push(...delta.reason);
      if (delta.ranking !== undefined) t.ranking = (t.ranking ?? 0) + delta.ranking;
    }
  };
  enhance(partial, { usable: false, reason: ['is_partial'], ranking: partialRank });
  enhance(outOfScope, { usable: false, reason: ['scope_mismatch'], ranking: outOfScopeRank });
  enhance(notUsable, { usable: false, reason: [], ranking: notUsableRank });
  enhance(excluded, { usable: true, reason: ['excluded_by_user'], ranking: excludedRank });
  enhance(unfavored, { usable: true, reason: ['unfavored_type'], ranking: unfavoredRank });
  enhance(trace.ofType, { usable: true, reason: [] });
  for (const [i, u] of trace.usability) if (!u.usable) enhance([i], { reason: u.reasons });
  const winnerWidth = winner === null ? 0 : winner.fields.length;
  trace.sorted.forEach(({ index, difference }, n) => {
    const reason: Reason = difference > 0 ? 'less_overlap' : index.fields.length > winnerWidth ? 'too_many_fields' : 'alphabetically_comes_after';
    enhance([index], { reason: [reason], ranking: n });
  });

  return [...tags]
    .filter(([i, t]) => i !== winner && t.reason.length > 0)
    .sort(([a], [b]) => indexOrder(b, a))
    .map(([i, t]) => ({
      index: indexToJson(i),
      analysis: {
        usable: t.usable ?? false,
        reasons: [{ name: t.reason[0] }],
        ranking: t.ranking ?? 0,
        covering: i.type === 'json' ? covers(i, fields) : null,
      },
    }));
}

/** extract_selector_hints/1 for json indexes (the only kind Freshet has). */
export function selectorHints(selector: Record<string, unknown>): unknown[] {
  const indexable = new Set(indexableFields(selector));
  const all = [...new Set(selectorFields(selector))];
  return [{ type: 'json', indexable_fields: [...indexable].sort(), unindexable_fields: all.filter((f) => !indexable.has(f)).sort() }];
}
