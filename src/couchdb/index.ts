// The CouchDB database layer: CouchDB databases as stored in the engine. It owns databases
// (db.ts: a bucket plus its side databases), documents and their revision storage (doc-store.ts,
// doc-write.ts, the `_sync` layout in sync-layout.ts), attachment bytes (att-store.ts), `_local`
// documents (local-docs.ts), change rows and summaries (change-summary.ts, changes-rows.ts,
// changes-bytes.ts), `_all_docs` rows (all-docs-rows.ts) and the `_replicator` database
// (replicator-db.ts).
//
// How it differs from src/couch: src/couch is the pure CouchDB data model (revision trees and
// their queries, edits, collation, selectors, multipart, the error catalogue) with no I/O and no
// engine; it could run in a browser. src/couchdb builds on it and on the engine: it reads and
// writes items, xattrs, side databases and the change index. Its users are the transports: the
// HTTP face (src/http: routes, request parsing, responses) and the replicator's local peer
// (src/replicator/local-peer.ts), neither of which goes through the other.
export { AUX_NAMESPACES, Db, type DbCounts } from './db.js';
export { lookupKeyspace, keyspaceName, type KeyspaceLookup } from './keyspace.js';
export { loadDoc, stateFromItem, type DocState } from './doc-store.js';
export { summarize, type RevData } from './doc-sync.js';
export { writeDoc, orderedWriter } from './doc-write.js';
export { docJson, winnerJson, type DocOutOptions } from './doc-json.js';
export { openRev, openRevs, type OpenRev, type OpenRevResult } from './doc-revs.js';
export { readLocal, updateLocal, localJson } from './local-docs.js';
export { changeSummary, type ParsedChangesFilter, type ChangeSummary } from './change-summary.js';
export { RowBuilder } from './changes-rows.js';
export { keyRows, rangeRows, type AllDocsRowQuery } from './all-docs-rows.js';
export { validateNewDbName } from './db-names.js';
export { toCouchError } from './errors.js';
export { ReplicatorDb, REPLICATOR_DB, type ReplicatorJobs } from './replicator-db.js';
