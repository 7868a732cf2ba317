// CouchDB error registry: every error the CouchDB-compatible API can return,
// as data. Each entry carries the HTTP status and the exact `error` / `reason`
// strings Apache CouchDB sends, so that clients (PouchDB, the CouchDB
// replicator) which branch on them behave the same against Freshet.
//
// Sources (apache/couchdb): src/chttpd/src/chttpd.erl `error_info/1` (status and
// `error` per Erlang error term), src/couch/src/couch_doc.erl (doc/_id/rev
// validation), couch_att.erl (attachment data), chttpd_db.erl (attachment
// names, _bulk_docs/_bulk_get bodies), couch_changes.erl (`_selector` filter),
// couch_httpd_auth.erl / couch_db.erl (auth). Replication protocol spec:
// shared/specs/couch-replication.md §1.2 ("Errors are JSON objects with error
// and reason"), §3.4, §3.6, §3.7, §3.9.
//
// Reasons may hold `{placeholder}` fields, filled from `CouchError` params.
// The table key is the error's `kind`; its `code` is `COUCH_<KIND>` (common/errors.ts). Neither is
// sent on the wire: only `status`, `error` and `reason` are.
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

export const COUCH_ERRORS = {
  // --- 400 -----------------------------------------------------------------
  bad_request: { status: 400, error: 'bad_request', reason: 'Bad request' },
  invalid_json: { status: 400, error: 'bad_request', reason: 'invalid UTF-8 JSON' },
  // chttpd:maybe_decompress/2, for a JSON body sent with `Content-Encoding: gzip`.
  body_not_gzipped: { status: 400, error: 'bad_request', reason: 'Request body is not properly gzipped.' },
  not_an_object: { status: 400, error: 'bad_request', reason: 'Document must be a JSON object' },
  // Freshet's nesting limit (codec/json-check.ts); CouchDB (jiffy) has none.
  json_too_deep: { status: 400, error: 'bad_request', reason: 'JSON nests deeper than {limit} levels' },
  invalid_rev_format: { status: 400, error: 'bad_request', reason: 'Invalid rev format' },
  invalid_rev_list: { status: 400, error: 'bad_request', reason: 'Invalid list of revisions' },
  rev_mismatch: {
    status: 400,
    error: 'bad_request',
    reason: 'Document rev from request body and query string have different values',
  },
  rev_etag_mismatch: { status: 400, error: 'bad_request', reason: 'Document rev and etag have different values' },
  new_edits_needs_rev: {
    status: 400,
    error: 'bad_request',
    reason: 'When `new_edits: false`, the document needs `_rev` or `_revisions` specified',
  },
  bulk_docs_missing: { status: 400, error: 'bad_request', reason: 'POST body must include `docs` parameter.' },
  bulk_docs_not_array: { status: 400, error: 'bad_request', reason: '`docs` parameter must be an array.' },
  bulk_get_missing: { status: 400, error: 'bad_request', reason: "Missing JSON list of 'docs'." },
  // chttpd_db bulk_get_parse_doc_query/validate_query_param and bulk_get_parse_arg/parse_field:
  // the first refuses the request, the others are one entry's error.
  bulk_get_query_param: { status: 400, error: 'bad_request', reason: '"{key}" query parameter is not acceptable' },
  bulk_get_not_object: { status: 400, error: 'bad_request', reason: 'document must be a JSON object' },
  bulk_get_no_id: { status: 400, error: 'bad_request', reason: 'document id missed' },
  bulk_get_atts_since: { status: 400, error: 'bad_request', reason: 'att_since value must be array of revs.' },
  local_no_attachments: { status: 400, error: 'bad_request', reason: '_local documents do not accept attachments.' },
  // chttpd_db db_req: the paths `/{db}/_local` and `/{db}/_local%2F`, in any method.
  local_bad_id: { status: 400, error: 'bad_request', reason: 'Invalid _local document id.' },
  selector_missing: { status: 400, error: 'bad_request', reason: 'Selector must be specified in POST payload' },
  selector_not_object: { status: 400, error: 'bad_request', reason: 'Selector error: expected a JSON object' },
  // mango_error.erl texts; couch_changes.erl re-throws them as bad_request.
  selector_bad_arg: { status: 400, error: 'bad_request', reason: 'Bad argument for operator {op}: {arg}' },
  selector_invalid_operator: { status: 400, error: 'bad_request', reason: 'Invalid operator: {op}' },
  selector_not_supported: { status: 400, error: 'bad_request', reason: 'Unsupported operator: {op}' },
  selector_bad_field: {
    status: 400,
    error: 'bad_request',
    reason: 'Invalid field normalization on selector: {selector}',
  },
  selector_missing_field: {
    status: 400,
    error: 'bad_request',
    reason: 'One or more conditions is missing a field name.',
  },
  // Mango (`_find`, `_index`, `_explain`): mango_error.erl texts and statuses. Values print as
  // JSON where CouchDB prints Erlang terms (~w).
  mango_bad_arg: { status: 400, error: 'bad_arg', reason: 'Bad argument for operator {op}: {arg}' },
  mango_invalid_operator: { status: 400, error: 'invalid_operator', reason: 'Invalid operator: {op}' },
  mango_not_supported: { status: 400, error: 'not_supported', reason: 'Unsupported operator: {op}' },
  mango_bad_field: { status: 400, error: 'bad_field', reason: 'Invalid field normalization on selector: {selector}' },
  mango_missing_field_name: { status: 400, error: 'invalid_selector', reason: 'One or more conditions is missing a field name.' },
  mango_invalid_key: { status: 400, error: 'invalid_key', reason: 'Invalid key {key} for this request.' },
  mango_missing_required_key: { status: 400, error: 'missing_required_key', reason: 'Missing required key: {key}' },
  mango_invalid_boolean: { status: 400, error: 'invalid_boolean', reason: 'Invalid boolean value: {value}' },
  mango_invalid_string: { status: 400, error: 'invalid_string', reason: 'Invalid string: {value}' },
  mango_invalid_pos_integer: { status: 400, error: 'invalid_pos_integer', reason: '{value} is not an integer greater than zero' },
  mango_invalid_non_neg_integer: {
    status: 400,
    error: 'invalid_non_neg_integer',
    reason: '{value} is not an integer greater than or equal to zero',
  },
  mango_invalid_selector_json: { status: 400, error: 'invalid_selector_json', reason: 'Selector must be a JSON object, not: {value}' },
  mango_invalid_index_name: { status: 400, error: 'invalid_index_name', reason: 'Invalid index name: {value}' },
  mango_invalid_bookmark: { status: 400, error: 'invalid_bookmark', reason: 'Invalid bookmark value: {value}' },
  mango_invalid_sort_json: { status: 400, error: 'invalid_sort_json', reason: 'Sort must be an array of sort specs, not: {value}' },
  mango_invalid_sort_dir: { status: 400, error: 'invalid_sort_dir', reason: 'Invalid sort direction: {value}' },
  mango_invalid_sort_field: { status: 400, error: 'invalid_sort_field', reason: 'Invalid sort field: {value}' },
  mango_mixed_sort: {
    status: 400,
    error: 'unsupported_mixed_sort',
    reason: 'Sorts currently only support a single direction for all fields.',
  },
  mango_invalid_fields: { status: 400, error: 'invalid_fields', reason: 'Fields must be an array of strings, not: {value}' },
  mango_invalid_field: { status: 400, error: 'invalid_field', reason: 'Invalid JSON for field spec: {value}' },
  mango_no_sort_index: {
    status: 400,
    error: 'no_usable_index',
    reason: 'No index exists for this sort, try indexing by the sort fields.',
  },
  mango_invalid_index_type: { status: 400, error: 'invalid_index', reason: 'Invalid type for index: {value}' },
  // mango_error info(mango_cursor, {invalid_index, UseIndex}): `allow_fallback: false` refused.
  mango_no_fallback: { status: 400, error: 'invalid_index', reason: 'You must specify an index with the `use_index` parameter.' },
  mango_no_fallback_named: { status: 400, error: 'invalid_index', reason: '{detail} specified by `use_index` could not be found or it is not suitable.' },
  invalid_design_doc: { status: 400, error: 'invalid_design_doc', reason: '{detail}' },
  mango_no_index_definition: { status: 400, error: 'invalid_index', reason: 'Index is missing its definition.' },
  mango_invalid_index_json: { status: 400, error: 'invalid_index', reason: 'JSON indexes must be an object, not: {value}' },
  mango_invalid_ddoc_lang: { status: 400, error: 'invalid_ddoc_lang', reason: 'Existing design doc has an invalid language: {value}' },
  mango_invalid_bulk_docs: {
    status: 400,
    error: 'invalid_bulk_docs',
    reason: 'Bulk Delete requires an array of non-null docids. Docids: {value}',
  },
  mango_index_service_unavailable: { status: 503, error: 'required index service unavailable', reason: '{type}' },
  mango_ddoc_conflict: {
    status: 500,
    error: 'error_saving_ddoc',
    reason: 'Encountered a conflict while saving the design document.',
  },
  mango_error_saving_ddoc: {
    status: 500,
    error: 'error_saving_ddoc',
    reason: 'Unknown error while saving the design document: {detail}',
  },
  mango_invalid_list_index_params: {
    status: 500,
    error: 'invalid_list_index_params',
    reason: 'Index parameter ranges: limit > 1, skip > 0',
  },
  mango_unknown: { status: 500, error: 'unknown_error', reason: 'Unknown Error: {detail}' },
  doc_ids_not_list: {
    status: 400,
    error: 'bad_request',
    reason: '`doc_ids` filter parameter is not a list of doc ids.',
  },
  invalid_attachment_data: { status: 400, error: 'bad_request', reason: 'Invalid attachment data for {name}' },
  attachment_name_underscore: {
    status: 400,
    error: 'bad_request',
    reason: "Attachment name '{name}' starts with prohibited character '_'",
  },
  attachment_name_not_utf8: { status: 400, error: 'bad_request', reason: 'Attachment name is not UTF-8 encoded' },
  attachment_too_long: { status: 400, error: 'bad_request', reason: 'attachment longer than expected' },
  attachment_too_short: { status: 400, error: 'bad_request', reason: 'attachment shorter than expected' },
  // Freshet-specific wording (CouchDB's streaming parser would hang or crash).
  multipart_invalid: { status: 400, error: 'bad_request', reason: 'Invalid multipart body: {detail}' },
  query_parse_error: { status: 400, error: 'query_parse_error', reason: '{detail}' },
  illegal_docid: { status: 400, error: 'illegal_docid', reason: '{detail}' },
  // couch_partition:validate_partition/1 (partitioned databases, couchdb/partition.ts).
  illegal_partition: { status: 400, error: 'illegal_partition', reason: '{detail}' },
  // mango_idx add/2 set_ddoc_partitioned: an index whose `partitioned` differs from its design document's.
  invalid_partitioned_option: { status: 400, error: 'invalid_partitioned_option', reason: 'Requested partitioned option does not match existing value on design document {detail}' },
  docid_empty: { status: 400, error: 'illegal_docid', reason: 'Document id must not be empty' },
  docid_not_string: { status: 400, error: 'illegal_docid', reason: 'Document id must be a string' },
  docid_not_utf8: { status: 400, error: 'illegal_docid', reason: 'Document id must be valid UTF-8' },
  docid_bare_design: { status: 400, error: 'illegal_docid', reason: 'Illegal document id `_design/`' },
  docid_bare_local: { status: 400, error: 'illegal_docid', reason: 'Illegal document id `_local/`' },
  docid_underscore: {
    status: 400,
    error: 'illegal_docid',
    reason: 'Only reserved document ids may start with underscore.',
  },
  doc_validation: { status: 400, error: 'doc_validation', reason: '{detail}' },
  bad_special_member: { status: 400, error: 'doc_validation', reason: 'Bad special document member: {name}' },
  revisions_start_not_int: { status: 400, error: 'doc_validation', reason: "_revisions.start isn't an integer." },
  revisions_ids_not_array: { status: 400, error: 'doc_validation', reason: "_revisions.ids isn't a array." },
  revid_not_string: { status: 400, error: 'doc_validation', reason: "RevId isn't a string" },
  revid_not_hex: { status: 400, error: 'doc_validation', reason: "RevId isn't a valid hexadecimal" },
  illegal_database_name: {
    status: 400,
    error: 'illegal_database_name',
    reason:
      "Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.",
  },
  // --- 401 / 403 -----------------------------------------------------------
  unauthorized: { status: 401, error: 'unauthorized', reason: 'Name or password is incorrect.' },
  unauthorized_db: { status: 401, error: 'unauthorized', reason: 'You are not authorized to access this db.' },
  unauthorized_admin: { status: 401, error: 'unauthorized', reason: 'You are not a server admin.' },
  unauthorized_db_admin: { status: 401, error: 'unauthorized', reason: 'You are not a db or server admin.' },
  forbidden: { status: 403, error: 'forbidden', reason: '{detail}' },
  forbidden_db: { status: 403, error: 'forbidden', reason: 'You are not allowed to access this db.' },
  // couch_db_updater max_partition_size (couchdb/partition-size.ts).
  partition_overflow: { status: 403, error: 'partition_overflow', reason: "Partition limit exceeded due to update on '{id}'" },
  // --- 404 -----------------------------------------------------------------
  not_found: { status: 404, error: 'not_found', reason: 'missing' },
  not_found_deleted: { status: 404, error: 'not_found', reason: 'deleted' },
  db_not_found: { status: 404, error: 'not_found', reason: 'Database does not exist.' },
  attachment_not_found: { status: 404, error: 'not_found', reason: 'Document is missing attachment' },
  not_found_detail: { status: 404, error: 'not_found', reason: '{detail}' },
  // --- 405 / 406 -----------------------------------------------------------
  method_not_allowed: { status: 405, error: 'method_not_allowed', reason: 'Only {methods} allowed' },
  not_acceptable: { status: 406, error: 'not_acceptable', reason: '{detail}' },
  // couch_httpd:accepted_encodings/1 throws unacceptable_encoding (every coding refused).
  unacceptable_encoding: { status: 406, error: 'not_acceptable', reason: 'unsupported encoding' },
  // Freshet: a document whose current value, written over KV, is no JSON object (raw bytes, an
  // array, a scalar, JSON nested past the limit): it exists, but has no JSON document form.
  not_json_object: {
    status: 406,
    error: 'not_json_object',
    reason: 'the document value (written over KV) is not a JSON object nested at most {limit} levels',
  },
  // --- 409 / 412 -----------------------------------------------------------
  conflict: { status: 409, error: 'conflict', reason: 'Document update conflict.' },
  file_exists: {
    status: 412,
    error: 'file_exists',
    reason: 'The database could not be created, the file already exists.',
  },
  precondition_failed: { status: 412, error: 'precondition_failed', reason: '{detail}' },
  missing_stub: { status: 412, error: 'missing_stub', reason: 'Invalid attachment stub in {id} for {name}' },
  missing_stub_no_parent: {
    status: 412,
    error: 'missing_stub',
    reason: 'Previous revision missing for document {id}',
  },
  // --- 413 / 415 / 416 -----------------------------------------------------
  too_large: { status: 413, error: 'too_large', reason: 'the request entity is too large' },
  document_too_large: { status: 413, error: 'document_too_large', reason: '{id}' },
  attachment_too_large: { status: 413, error: 'attachment_too_large', reason: '{name}' },
  bad_content_type: { status: 415, error: 'bad_content_type', reason: 'Content-Type must be {type}' },
  // chttpd_db db_attachment_req PUT: `{bad_ctype, ...}` for a Content-Encoding other than these.
  // chttpd:maybe_decompress/2: `{bad_ctype, [Else, " is not a supported content encoding."]}` for a JSON body.
  unsupported_body_encoding: { status: 415, error: 'bad_content_type', reason: '{encoding} is not a supported content encoding.' },
  unsupported_content_encoding: { status: 415, error: 'bad_content_type', reason: 'Only gzip and identity content-encodings are supported' },
  range_not_satisfiable: {
    status: 416,
    error: 'requested_range_not_satisfiable',
    reason: 'Requested range not satisfiable',
  },
  // --- 500 / 501 -----------------------------------------------------------
  // CouchDB answers a digest mismatch on a `follows` attachment with the bare
  // `md5_mismatch` term through its catch-all clause.
  md5_mismatch: { status: 500, error: 'unknown_error', reason: 'md5_mismatch' },
  // couch_query_servers.erl: a built-in reduce given values it cannot reduce (_stats).
  invalid_value: { status: 500, error: 'invalid_value', reason: '{detail}' },
  internal: { status: 500, error: 'unknown_error', reason: '{detail}' },
  // Design functions (src/design/sandbox.ts): a source that is no function (couchjs util.js), a
  // function that threw (the thrown error's name replaces `error`, loop.js handleError), and a
  // call past the time or memory limit (couch_os_process: "OS process timed out.").
  compilation_error: { status: 400, error: 'compilation_error', reason: '{detail}' },
  design_function_error: { status: 500, error: 'unknown_error', reason: '{detail}' },
  os_process_error: { status: 500, error: 'os_process_error', reason: '{detail}' },
  // A write the disk had no room for (RFC 4918 §11.5); nothing of it was stored, retry later.
  insufficient_storage: { status: 507, error: 'insufficient_storage', reason: '{detail}' },
  // `[disk_monitor]` refusing a write or an index update (couchdb/disk-monitor.ts): chttpd
  // error_info({insufficient_storage, Reason}), whose `error` CouchDB spells "insufficent_storage".
  disk_too_full: { status: 507, error: 'insufficent_storage', reason: '{detail}' },
  not_implemented: { status: 501, error: 'not_implemented', reason: 'this feature is not yet implemented' },
  // `_temp_view` (chttpd_view handle_temp_view_req): removed in CouchDB 2.0.
  temp_view_gone: { status: 410, error: 'gone', reason: 'Temporary views are not supported in CouchDB' },
  design_not_acceptable: { status: 406, error: 'not_acceptable', reason: '{detail}' },
  design_method_not_allowed: { status: 405, error: 'method_not_allowed', reason: '{detail}' },
  // A show or update response object with a member chttpd_external does not know.
  external_response_error: { status: 500, error: 'external_response_error', reason: '{detail}' },
  // `_rewrite` (chttpd_rewrite.erl, couch_query_servers:rewrite/3): the recursion limit; a design
  // document without `rewrites`, or a function that answers nothing; an insecure `to` (`[chttpd]
  // secure_rewrites`); a rule without `to`; a function's answer that is not a rewrite.
  rewrite_limit: { status: 400, error: 'bad_request', reason: 'Exceeded rewrite recursion limit' },
  rewrite_invalid_path: { status: 404, error: 'rewrite_error', reason: 'Invalid path.' },
  insecure_rewrite_rule: { status: 500, error: 'insecure_rewrite_rule', reason: 'too many ../.. segments' },
  invalid_rewrite_target: { status: 500, error: 'error', reason: 'invalid_rewrite_target' },
  rewrite_error: { status: 500, error: 'rewrite_error', reason: '{detail}' },
} as const;

registerErrorCodes(
  'COUCH',
  'src/couch/errors.ts',
  Object.fromEntries(Object.entries(COUCH_ERRORS).map(([kind, e]) => [kind, `${e.status} ${e.error}: ${e.reason}`])),
);

export type CouchErrorKind = keyof typeof COUCH_ERRORS;
export type CouchErrorCode = `COUCH_${Uppercase<CouchErrorKind>}`;

export interface CouchErrorBody {
  error: string;
  /** A string, except where CouchDB passes a design function's thrown value through (reasonValue). */
  reason: unknown;
}

export interface CouchErrorOptions {
  /** Values for the `{placeholder}` fields of the table's reason. */
  params?: Record<string, string | number>;
  /** Replaces the table's reason entirely (e.g. a validate_doc_update message). */
  reason?: string;
  /** Replaces the table's `error` (a design function's own thrown error name). */
  error?: string;
  /**
   * The reason as the JSON value a validate_doc_update threw (`{forbidden: {…}}`): chttpd's
   * error_info({forbidden, Msg}) sends Msg unchanged, so the body's `reason` is that value.
   * `reason` stays its JSON text for logs and messages.
   */
  reasonValue?: unknown;
  cause?: unknown;
}

const PLACEHOLDER = /\{([a-zA-Z]+)\}/g;

function fillReason(template: string, params: Record<string, string | number> | undefined): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => {
    const value = params?.[key];
    return value === undefined ? whole : String(value);
  });
}

/** An error that the HTTP layer turns into `status` + `{error, reason}`. */
export class CouchError extends FreshetError<CouchErrorCode> {
  readonly kind: CouchErrorKind;
  readonly status: number;
  readonly error: string;
  readonly reason: string;

  constructor(kind: CouchErrorKind, options: CouchErrorOptions = {}) {
    const entry = COUCH_ERRORS[kind];
    const reason = options.reason ?? fillReason(entry.reason, options.params);
    // 507: nothing was stored for lack of space; the same write succeeds once space is freed.
    super(errorCode('COUCH', kind), `${options.error ?? entry.error}: ${reason}`, { retriable: entry.status === 507, cause: options.cause });
    this.name = 'CouchError';
    this.kind = kind;
    this.status = entry.status;
    this.error = options.error ?? entry.error;
    this.reason = reason;
    this.reasonValue = options.reasonValue;
  }

  /** The `reason` of the body: `reasonValue` when there is one. */
  readonly reasonValue: unknown;

  toJSON(): CouchErrorBody {
    return { error: this.error, reason: this.reasonValue ?? this.reason };
  }
}

export function isCouchError(value: unknown): value is CouchError {
  return value instanceof CouchError;
}

/** Shorthand for the common "throw the table entry with these params". */
export function couchError(kind: CouchErrorKind, params?: Record<string, string | number>): CouchError {
  return new CouchError(kind, params === undefined ? {} : { params });
}
