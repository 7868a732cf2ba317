/**
 * Sub-document paths (kv_engine docs/SubDocument.md "Path"): N1QL-style components separated by
 * dots, `[n]` array indexes placed right after the array's component (`[-1]` is the last
 * element; other negative indexes are invalid), and backticks around a component that holds
 * path metacharacters (`` `a.b` ``), with two backticks for a literal one.
 *
 * Errors are the statuses kv answers: an unparsable path is PATH_EINVAL; more components than
 * subjson's limit is PATH_E2BIG. (A path longer than 1024 bytes is refused before parsing with
 * EINVAL, subdocument_validators.cc; the codec checks that.)
 */
import { SubdocError } from './errors.js';

export type PathComponent = { readonly kind: 'key'; readonly key: string } | { readonly kind: 'index'; readonly index: number };

/** subjson's component limit (COMPONENTS_ALLOC); a deeper path is PATH_E2BIG. */
export const MAX_PATH_COMPONENTS = 32;
/** subdocument_validators.h SUBDOC_PATH_MAX_LENGTH. */
export const MAX_PATH_BYTES = 1024;

function invalid(path: string, why: string): SubdocError {
  return new SubdocError('SubdocPathEinval', `invalid path '${path}': ${why}`);
}

/** Parse a path; the empty path is the document root (no components). */
export function parsePath(path: string): PathComponent[] {
  const out: PathComponent[] = [];
  let i = 0;
  const n = path.length;
  let expectKey = true; // at the start, or right after a '.'
  while (i < n) {
    const c = path[i]!;
    if (c === '[') {
      if (expectKey && out.length > 0) throw invalid(path, "'[' after '.'");
      const close = path.indexOf(']', i);
      if (close < 0) throw invalid(path, "unterminated '['");
      const text = path.slice(i + 1, close);
      if (!/^(?:-1|[0-9]+)$/.test(text)) throw invalid(path, `bad array index [${text}]`);
      const index = Number(text);
      if (!Number.isSafeInteger(index)) throw invalid(path, `array index [${text}] too large`);
      out.push({ kind: 'index', index });
      i = close + 1;
      expectKey = false;
      if (i < n && path[i] !== '.' && path[i] !== '[') throw invalid(path, `unexpected '${path[i]}' after ']'`);
      if (path[i] === '.') {
        i++;
        expectKey = true;
        if (i === n) throw invalid(path, 'trailing dot');
      }
    } else {
      if (!expectKey) throw invalid(path, `unexpected '${c}'`);
      let key = '';
      if (c === '`') {
        i++;
        for (;;) {
          if (i >= n) throw invalid(path, 'unterminated backtick');
          if (path[i] === '`') {
            if (path[i + 1] === '`') {
              key += '`';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          key += path[i++];
        }
      } else {
        const start = i;
        while (i < n && path[i] !== '.' && path[i] !== '[') {
          if (path[i] === ']' || path[i] === '`') throw invalid(path, `'${path[i]}' in a name must be backquoted`);
          i++;
        }
        key = path.slice(start, i);
        if (key.length === 0) throw invalid(path, 'empty component');
      }
      out.push({ kind: 'key', key });
      expectKey = false;
      if (i < n && path[i] === '.') {
        i++;
        expectKey = true;
        if (i === n) throw invalid(path, 'trailing dot');
      } else if (i < n && path[i] !== '[') {
        throw invalid(path, `unexpected '${path[i]}'`);
      }
    }
    if (out.length > MAX_PATH_COMPONENTS) {
      throw new SubdocError('SubdocPathE2big', `path has more than ${MAX_PATH_COMPONENTS} components`);
    }
  }
  return out;
}

/** A path's components as kv would print them (error contexts). */
export function formatPath(components: readonly PathComponent[]): string {
  let s = '';
  for (const c of components) {
    if (c.kind === 'index') s += `[${c.index}]`;
    else s += (s === '' ? '' : '.') + (/[.[\]`]/.test(c.key) ? `\`${c.key.replace(/`/g, '``')}\`` : c.key);
  }
  return s;
}
