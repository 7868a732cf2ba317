/**
 * The routes of the CouchDB face on the shared route table (src/web/route-table.ts): server
 * endpoints, database endpoints, the `_`-prefixed database sub-resources, `_local/` and
 * `_design/` documents, then plain documents and their attachments. The table prefers literal
 * segments to parameters, so `/db/_changes` is the feed and `/db/_local/x` a local document
 * whatever the order below. Document ids and attachment names may contain '/', hence the tails.
 */
import { allDocsHandlers, allDocsQueriesHandlers, designDocsHandlers, designDocsQueriesHandlers } from './all-docs.js';
import { attachmentHandlers, formHandlers } from './attachment-routes.js';
import { bulkHandlers } from './bulk.js';
import { capiCheckpointRoutes } from './capi-checkpoints.js';
import { changesHandlers } from './changes.js';
import { dbRoutes } from './db-routes.js';
import { docHandlers } from './doc-routes.js';
import { bareLocalHandlers, localAttachmentHandlers, localDocsHandlers, localDocsQueriesHandlers, localHandlers } from './local-docs.js';
import { mangoRoutes } from './mango-routes.js';
import { partitionRoutes } from './partition-routes.js';
import { RouteTable } from '../web/route-table.js';
import type { Handler } from './request.js';
import { replicationRoutes } from './replication-routes.js';
import { rewriteHandlers } from './rewrite.js';
import { invalidPathHandlers, listHandlers, showHandlers, updateHandlers } from './render-routes.js';
import { serverRoutes } from './server-routes.js';
import { shardRoutes } from './shard-routes.js';
import { designInfoHandlers, tempViewHandlers, viewCleanupHandlers, viewHandlers, viewQueriesHandlers } from './view-routes.js';
import { purgeHandlers, purgedInfosLimitHandlers } from './purge-routes.js';

export function couchRoutes(): RouteTable<Handler> {
  const routes = new RouteTable<Handler>();
  serverRoutes(routes);
  capiCheckpointRoutes(routes);
  replicationRoutes(routes);
  dbRoutes(routes);
  shardRoutes(routes);
  mangoRoutes(routes);
  partitionRoutes(routes);
  routes
    .add('/:db/_all_docs', allDocsHandlers)
    .add('/:db/_design_docs', designDocsHandlers)
    .add('/:db/_all_docs/queries', allDocsQueriesHandlers)
    .add('/:db/_design_docs/queries', designDocsQueriesHandlers)
    .add('/:db/_bulk_docs', bulkHandlers.bulkDocs)
    .add('/:db/_bulk_get', bulkHandlers.bulkGet)
    .add('/:db/_revs_diff', bulkHandlers.revsDiff)
    .add('/:db/_missing_revs', bulkHandlers.missingRevs)
    .add('/:db/_changes', changesHandlers)
    .add('/:db/_local_docs', localDocsHandlers)
    .add('/:db/_local_docs/queries', localDocsQueriesHandlers)
    .add('/:db/_local', bareLocalHandlers)
    .add('/:db/_local/:id', localHandlers)
    .add('/:db/_local/:id/*att', localAttachmentHandlers)
    .add('/:db/_view_cleanup', viewCleanupHandlers)
    .add('/:db/_temp_view', tempViewHandlers)
    .add('/:db/_purge', purgeHandlers)
    .add('/:db/_purged_infos_limit', purgedInfosLimitHandlers)
    .add('/:db/_design/:ddoc/_view/:view', viewHandlers)
    .add('/:db/_design/:ddoc/_view/:view/queries', viewQueriesHandlers)
    .add('/:db/_design/:ddoc/_info', designInfoHandlers)
    .add('/:db/_design/:ddoc', { ...docHandlers, ...formHandlers })
    .add('/:db/_design/:ddoc/*att', attachmentHandlers)
    .add('/:db/:doc', { ...docHandlers, ...formHandlers })
    .add('/:db/:doc/*att', attachmentHandlers);
  routes
    .add('/:db/_design/:ddoc/_show', invalidPathHandlers)
    .add('/:db/_design/:ddoc/_list', invalidPathHandlers)
    .add('/:db/_design/:ddoc/_update', invalidPathHandlers)
    .add('/:db/_design/:ddoc/_view', invalidPathHandlers)
    .add('/:db/_design/:ddoc/_show/:fn', showHandlers)
    .add('/:db/_design/:ddoc/_show/:fn/*docid', showHandlers)
    .add('/:db/_design/:ddoc/_update/:fn', updateHandlers)
    .add('/:db/_design/:ddoc/_update/:fn/*docid', updateHandlers)
    .add('/:db/_design/:ddoc/_list/:fn/:view', listHandlers, ['OPTIONS'])
    .add('/:db/_design/:ddoc/_list/:fn/:viewddoc/:view', listHandlers, ['OPTIONS'])
    .add('/:db/_design/:ddoc/_rewrite', rewriteHandlers)
    .add('/:db/_design/:ddoc/_rewrite/*rest', rewriteHandlers);
  return routes;
}

