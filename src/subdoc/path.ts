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

/**
 * A path component. A key's `text` is the name as the path spells it, JSON escapes kept and
 * backticks removed: what subjson writes into the document when a mutation creates the member
 * (path.cc `add_str_component`, operations.cc `do_mkdir_p`).
 */
export type PathComponent = { readonly kind: 'key'; readonly key: string; readonly text?: string } | { readonly kind: 'index'; readonly index: number };

/**
 * subjson's component limit: Limits::MAX_COMPONENTS (32) counts the root too, so a path holds at
 * most 31 components and a 32nd is PATH_E2BIG (subjson t_ops.cc testTooDeepDict).
 */
export const MAX_PATH_COMPONENTS = 31;
/** subdocument_validators.h SUBDOC_PATH_MAX_LENGTH. */
export const MAX_PATH_BYTES = 1024;

function invalid(path: string, why: string): SubdocError {
  return new SubdocError('SubdocPathEinval', `invalid path '${path}': ${why}`);
}

/** JSON escapes a path component may hold (subjson path.cc `isAllowedJsonEscapes`, without `\u`). */
const JSON_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parse a path; the empty path is the document root (no components). The grammar is subjson's
 * (path.cc `Path::parse`), quirks included:
 * - a component is written as it is in the JSON text: a `"` or a control character must be
 *   escaped (`\"`, `\n`, ...; `\u` escapes are refused), and an escape names the character;
 * - backticks quote path metacharacters: a component wrapped in them loses them, and inside a
 *   component a lone backtick is dropped and a doubled one is a literal backtick;
 * - one '.' may follow a component or an index, even at the end (`a.` is `a`, `a.[0]` is `a[0]`);
 * - an index is decimal digits (none is `[0]`) or `-1`; more than 31 components is PATH_E2BIG.
 */
export function parsePath(path: string): PathComponent[] {
  const out: PathComponent[] = [];
  const push = (c: PathComponent): void => {
    if (out.length === MAX_PATH_COMPONENTS) throw new SubdocError('SubdocPathE2big', `path has more than ${MAX_PATH_COMPONENTS} components`);
    out.push(c);
  };
  const n = path.length;
  let i = 0;
  while (i < n) {
    if (path[i] === '[') {
      const close = path.indexOf(']', i + 1);
      if (close < 0) throw invalid(path, "unterminated '['");
      push({ kind: 'index', index: arrayIndex(path, path.slice(i + 1, close)) });
      i = close + 1;
      if (i < n && path[i] !== '[') {
        if (path[i] !== '.') throw invalid(path, `unexpected '${path[i]}' after ']'`);
        i++;
      }
      continue;
    }
    // A name: up to an unquoted '[' or '.' (the '.' is consumed), checked as JSON string text.
    let inJsonEscape = false;
    let inBackticks = false;
    let backticks = 0;
    let j = i;
    for (; j < n; j++) {
      const c = path[j]!;
      if (inJsonEscape) {
        if (!Object.hasOwn(JSON_ESCAPES, c)) throw invalid(path, `bad escape '\\${c}'`);
        inJsonEscape = false;
      } else if (c === '\\') {
        inJsonEscape = true;
      } else if (c === '"' || c.charCodeAt(0) < 0x1f) {
        throw invalid(path, 'a quote or control character must be escaped');
      }
      if (c === '`') {
        backticks++;
        inBackticks = !inBackticks;
      }
      if (inBackticks) continue;
      if (c === ']') throw invalid(path, "']' in a name must be backquoted");
      if (c === '[' || c === '.') break;
    }
    if (j === n && (inBackticks || inJsonEscape)) throw invalid(path, inBackticks ? 'unterminated backtick' : 'unterminated escape');
    const text = nameText(path, path.slice(i, j), backticks);
    push({ kind: 'key', key: text.replace(/\\(.)/g, (_, c: string) => JSON_ESCAPES[c]!), text });
    i = j < n && path[j] === '.' ? j + 1 : j;
  }
  return out;
}

/** A name's text with its backticks resolved (JSON escapes still in). */
function nameText(path: string, raw: string, backticks: number): string {
  let text = raw;
  if (text.length > 1 && text.startsWith('`') && text.endsWith('`')) {
    text = text.slice(1, -1);
    backticks -= 2;
  }
  if (text.length === 0) throw invalid(path, 'empty component');
  if (backticks > 0) text = text.replace(/``?/g, (m) => (m.length === 2 ? '`' : ''));
  return text;
}

function arrayIndex(path: string, text: string): number {
  if (text.startsWith('-')) {
    if (text !== '-1') throw invalid(path, `bad array index [${text}]`);
    return -1;
  }
  if (!/^[0-9]*$/.test(text)) throw invalid(path, `bad array index [${text}]`);
  // subjson reads the digits into a size_t (none is 0); past 2^64 they overflow. An index beyond
  // any array's length finds nothing, so a huge one is kept as the largest safe integer.
  const index = BigInt(`0${text}`);
  if (index >= 1n << 64n) throw invalid(path, `array index [${text}] too large`);
  return index > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(index);
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
