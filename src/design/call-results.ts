/**
 * What the sandbox hands back (sandbox.ts): DesignError, and the decoding of the answers of the
 * function environment's runners (couch-env.ts) into the sandbox API's results: per document
 * emits or an error for map functions, "1"/"0" verdicts (stopping at a throw) for filters, and
 * validate_doc_update's refusals. Kept apart so sandbox.ts holds the runtime management only.
 */
import { CouchError, type CouchErrorKind } from '../couch/errors.js';

export type Emitted = [unknown, unknown];
export type MapResult = { emits: Emitted[] } | { error: { error: string; reason: string } };

const STATUS_OF: Record<string, CouchErrorKind> = {
  compilation_error: 'compilation_error',
  forbidden: 'forbidden',
  unauthorized: 'unauthorized',
  not_found: 'not_found_detail',
  os_process_error: 'os_process_error',
  // render.js: no offered format fits the request, and an update function called with GET.
  not_acceptable: 'design_not_acceptable',
  method_not_allowed: 'design_method_not_allowed',
};

/** An error of a design function, with CouchDB's `{error, reason}` and HTTP status. */
export class DesignError extends CouchError {
  /** `reasonValue`: a refusal's thrown message when it is not a string (CouchErrorOptions). */
  constructor(error: string, reason: string, reasonValue?: unknown) {
    super(STATUS_OF[error] ?? 'design_function_error', reasonValue === undefined ? { reason, error } : { reason, error, reasonValue });
  }
}

/**
 * Verdicts of a batch in order. When the function threw for a document, `pass` stops before it
 * (its index is `pass.length`) and `error` is what it threw; the documents after it were not
 * tested (CouchDB fails the whole request at that document).
 */
export interface FilterVerdicts {
  pass: boolean[];
  error?: DesignError;
}

/** A map runner's answer: per document its emits, or `{err: [error, reason]}` when it threw. */
export function mapResults(out: unknown): MapResult[] {
  return (out as Array<Emitted[] | { err: [string, string] }>).map((r) => (Array.isArray(r) ? { emits: r } : { error: { error: r.err[0], reason: r.err[1] } }));
}

/** A filter runner's answer: a "1"/"0" string, or `{pass, err}` when the function threw. */
export function filterVerdicts(out: unknown): FilterVerdicts {
  if (typeof out === 'string') return { pass: Array.from(out, (c) => c === '1') };
  const o = out as { pass: string; err: [string, string] };
  return { pass: Array.from(o.pass, (c) => c === '1'), error: new DesignError(o.err[0], o.err[1]) };
}

/** The verdicts, or the error of the document the function threw for. */
export function throwing(v: FilterVerdicts): boolean[] {
  if (v.error) throw v.error;
  return v.pass;
}

/**
 * couch_query_servers.erl validate_doc_update/6: `{forbidden: Msg}` → 403, `{unauthorized: Msg}`
 * → 401, any other one-field object or a string → `unknown_error` (500).
 */
export function rejectWith(verdict: unknown): never {
  if (verdict !== null && typeof verdict === 'object' && !Array.isArray(verdict)) {
    const entries = Object.entries(verdict);
    const msg = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
    // chttpd error_info({forbidden | unauthorized, Msg}) sends Msg as it is: a thrown object
    // stays an object in the body's `reason`.
    const raw = (v: unknown): unknown => (typeof v === 'string' ? undefined : v);
    if (entries.length === 1) {
      const [field, value] = entries[0]!;
      if (field === 'forbidden') throw new DesignError('forbidden', msg(value), raw(value));
      if (field === 'unauthorized') throw new DesignError('unauthorized', msg(value), raw(value));
      throw new DesignError('unknown_error', msg(value));
    }
  }
  throw new DesignError('unknown_error', typeof verdict === 'string' ? verdict : JSON.stringify(verdict));
}
