/**
 * `GET /pools/default/buckets/NAME/ddocs` (menelaus_web_buckets:handle_ddocs_list/3): a bucket's
 * design documents, which the SDK's view index manager (`bucket.viewIndexes().getAllDesignDocuments()`)
 * reads here while it reads and writes single ones on the views (capi) port, the CouchDB face.
 * They are the design documents of the bucket's default collection, as Couchbase views are:
 *
 *   {"rows":[{"doc":{"meta":{"id":"_design/NAME","rev":"N-..."},"json":{...the document...}},
 *             "controllers":{"compact":".../controller/compactView","setUpdateMinChanges":"..."}}]}
 */
import { Db } from '../couchdb/index.js';
import { designDocIds, loadDesignDoc } from '../design/design-docs.js';
import { notFound, sendJson } from './rest-io.js';
import type { RestContext, RestRoute } from './rest-route.js';

function listDesignDocs(rc: RestContext): void {
  const name = rc.params.bucket ?? '';
  const bucket = rc.server.engine.bucket(name);
  if (bucket === undefined) throw notFound();
  const db = new Db(bucket);
  const rows = designDocIds(db).flatMap((id) => {
    const ddoc = loadDesignDoc(db, id);
    if (ddoc === null) return [];
    const { _id, _rev, ...json } = ddoc;
    const base = `/pools/default/buckets/${encodeURIComponent(name)}/ddocs/${encodeURIComponent(_id)}/controller`;
    return [{ doc: { meta: { id: _id, rev: _rev }, json }, controllers: { compact: `${base}/compactView`, setUpdateMinChanges: `${base}/setUpdateMinChanges` } }];
  });
  sendJson(rc.res, 200, { rows });
}

export const DDOCS_ROUTES: readonly RestRoute[] = [
  {
    method: 'GET',
    path: '/pools/default/buckets/:bucket/ddocs',
    access: { kind: 'bucket', need: 'full', permission: (bucket) => `cluster.bucket[${bucket}].views!read` },
    handler: listDesignDocs,
  },
];
