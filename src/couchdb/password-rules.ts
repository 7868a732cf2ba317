/**
 * `[chttpd_auth] password_regexp` (couch_users_db validate_password/1): the requirements a new
 * `_users` password must meet, an Erlang list whose items are a regexp string, `{Regexp}` or
 * `{Regexp, Reason}`, e.g. `[{".{10,}"}, {"[A-Z]+", "Needs a capital."}, "\\d+"]`. They are tried in
 * order and the first one the password does not match refuses it: 400 `bad_request` "Password
 * does not conform to requirements." followed by " Reason" when the item has a non-empty one. A
 * setting that is not such a list is the server's fault, 403 "Server cannot hash passwords at
 * this time.", as couch_users_db throws it. Unset, `""` or `[]`: no requirement.
 *
 * CouchDB runs the regexps with Erlang's `re` (PCRE); here they are JavaScript regexps, which
 * agree on the usual classes, quantifiers and anchors.
 */
import { CouchError } from '../couch/errors.js';

const REQUIREMENT_ERROR = 'Password does not conform to requirements.';
export const PASSWORD_SERVER_ERROR = 'Server cannot hash passwords at this time.';

type Term = { kind: 'string'; value: string } | { kind: 'list' | 'tuple'; items: Term[] } | { kind: 'other' };

/** Erlang's string escapes (erl_scan): `\d` is DEL, `\s` a space, `\NNN` octal, `\xHH` hex. */
const ESCAPES: Readonly<Record<string, string>> = { b: '\b', d: '\x7f', e: '\x1b', f: '\f', n: '\n', r: '\r', s: ' ', t: '\t', v: '\v' };

/** A small reader of the Erlang terms a password_regexp holds; throws on anything malformed. */
class TermReader {
  #i = 0;
  constructor(private readonly text: string) {}

  read(): Term {
    const term = this.#term();
    this.#space();
    if (this.text[this.#i] === '.') this.#i++;
    this.#space();
    if (this.#i !== this.text.length) throw new Error('trailing text');
    return term;
  }

  #space(): void {
    while (/\s/.test(this.text[this.#i] ?? '')) this.#i++;
  }

  #term(): Term {
    this.#space();
    const c = this.text[this.#i];
    if (c === '[' || c === '{') return this.#sequence(c === '[' ? ']' : '}');
    if (c === '"') return { kind: 'string', value: this.#string() };
    const m = /^(-?\d+|[a-z][A-Za-z0-9_@]*|'(?:[^'\\]|\\.)*')/.exec(this.text.slice(this.#i));
    if (m === null) throw new Error('not a term');
    this.#i += m[0].length;
    return { kind: 'other' };
  }

  #sequence(close: string): Term {
    const kind = close === ']' ? 'list' : 'tuple';
    this.#i++;
    const items: Term[] = [];
    this.#space();
    if (this.text[this.#i] === close) {
      this.#i++;
      return { kind, items };
    }
    for (;;) {
      items.push(this.#term());
      this.#space();
      const c = this.text[this.#i++];
      if (c === close) return { kind, items };
      if (c !== ',') throw new Error('expected , or ' + close);
    }
  }

  #string(): string {
    let out = '';
    for (this.#i++; this.#i < this.text.length; ) {
      const c = this.text[this.#i++]!;
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.#i++] ?? '';
      const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.#i - 1));
      const hexed = e === 'x' ? /^(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(this.text.slice(this.#i)) : null;
      if (octal !== null) {
        out += String.fromCodePoint(parseInt(octal[0], 8));
        this.#i += octal[0].length - 1;
      } else if (hexed !== null) {
        out += String.fromCodePoint(parseInt(hexed[1] ?? hexed[2]!, 16));
        this.#i += hexed[0].length;
      } else {
        out += ESCAPES[e] ?? e;
      }
    }
    throw new Error('unterminated string');
  }
}

function serverError(): CouchError {
  return new CouchError('forbidden', { params: { detail: PASSWORD_SERVER_ERROR } });
}

/** Each requirement as a regexp and the message of a password that fails it. */
function requirements(setting: string): Array<{ regexp: RegExp; message: string }> {
  let list: Term;
  try {
    list = new TermReader(setting).read();
  } catch {
    throw serverError();
  }
  if (list.kind !== 'list') throw serverError();
  return list.items.map((item) => {
    const [re, reason] = item.kind === 'tuple' ? item.items : [item];
    if (re?.kind !== 'string' || (item.kind === 'tuple' && item.items.length > 2)) throw serverError();
    const message = reason?.kind === 'string' && reason.value !== '' ? `${REQUIREMENT_ERROR} ${reason.value}` : REQUIREMENT_ERROR;
    try {
      return { regexp: new RegExp(re.value), message };
    } catch {
      throw serverError();
    }
  });
}

/** Refuse `password` unless it meets every requirement of the setting (undefined: none). */
export function checkPasswordRules(password: string, setting: string | undefined): void {
  if (setting === undefined || setting.trim() === '' || setting.trim() === '[]') return;
  for (const { regexp, message } of requirements(setting)) {
    if (!regexp.test(password)) throw new CouchError('bad_request', { reason: message });
  }
}
