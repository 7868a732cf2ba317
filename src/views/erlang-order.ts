/**
 * Erlang's term order over JSON values as CouchDB decodes them (jiffy: numbers, the atoms null,
 * true and false, `{Props}` tuples for objects, lists for arrays, binaries for strings):
 * number < atom < tuple < list < binary. couch_mrview_updater sorts a document's emits with
 * `lists:sort`, so the values one document emits under one key come out in this order, whatever
 * order the map function emitted them in.
 */
function rank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (v === null || typeof v === 'boolean') return 1;
  if (Array.isArray(v)) return 3;
  if (typeof v === 'string') return 4;
  return 2;
}

function compareLists(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareErlang(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

export function compareErlang(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return (a as number) - (b as number);
    case 1: {
      // Atoms compare by name: false < null < true.
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3:
      return compareLists(a as unknown[], b as unknown[]);
    case 4:
      return Buffer.compare(Buffer.from(a as string, 'utf8'), Buffer.from(b as string, 'utf8'));
    default: {
      // {Props}: a one-element tuple, so its property list decides, pair by pair ({Key, Value}).
      const pairs = (o: unknown): unknown[] => Object.entries(o as Record<string, unknown>).map(([k, v]) => [k, v]);
      return compareProps(pairs(a), pairs(b));
    }
  }
}

/** Property lists: {Key, Value} tuples compare key (a binary) first, then value. */
function compareProps(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [ka, va] = a[i] as [string, unknown];
    const [kb, vb] = b[i] as [string, unknown];
    const c = compareErlang(ka, kb) || compareErlang(va, vb);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
