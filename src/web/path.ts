/**
 * A request path as decoded segments, for the route table (route-table.ts).
 *
 * The path is split on '/' first and each segment is then percent-decoded, as ns_server's
 * menelaus_web `loop` and CouchDB's chttpd do, so `a%2Fb` stays one segment `a/b` (document
 * ids, attachment names and user names may contain '/'). The two faces differ on empty
 * segments, and each keeps its own reference behaviour:
 *   - 'trim' (CouchDB): leading and trailing slashes are ignored (`GET /db/` is `GET /db`, which
 *     PouchDB sends), inner empty segments are kept (`/db//x` names document '' of `db`);
 *   - 'collapse' (ns_server): every empty segment is dropped (`//pools///default/`).
 */
export type EmptySegments = 'trim' | 'collapse';

/**
 * The decoded segments, or undefined when a segment is not valid percent-encoded UTF-8.
 * `plusAsSpace`: a literal '+' is a space (CouchDB's `[chttpd] decode_plus_to_space`, on by
 * default); an encoded one (`%2B`) stays '+'.
 */
export function pathSegments(path: string, empty: EmptySegments, plusAsSpace = false): string[] | undefined {
  let parts: string[];
  if (empty === 'collapse') {
    parts = path.split('/').filter((s) => s.length > 0);
  } else {
    const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
    parts = trimmed === '' ? [] : trimmed.split('/');
  }
  try {
    for (let i = 0; i < parts.length; i++) {
      const s = plusAsSpace && parts[i]!.includes('+') ? parts[i]!.replace(/\+/g, ' ') : parts[i]!;
      parts[i] = s.includes('%') ? decodeURIComponent(s) : s;
    }
  } catch {
    return undefined;
  }
  return parts;
}
