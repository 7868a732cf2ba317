/**
 * Read-only cluster documents, one-shot and streaming: what cbdatasource walks (dcp.md §4.3:
 * `/pools` -> `pools[].uri` -> `buckets.uri` -> `bucket.uri`, then `/pools/default/nodeServices`),
 * the terse configs gocbcore-style HTTP bootstrap reads (`/pools/default/b/NAME`, `.../bs/NAME`),
 * `GET /`, which the SDK's `cluster.ping()` probes on the mgmt service
 * (couchbase-sdk-bootstrap.md §1: any 200 counts; ns_server itself redirects to its UI), and
 * `GET /nodes/self` (menelaus_web_node:handle_node/2), which `couchbase-cli server-info` and
 * health checks read.
 */
import type { Bucket } from '../engine/bucket.js';
import {
  bucketListDoc,
  defaultPoolDoc,
  nodeServicesText,
  poolsDoc,
  terseBucketText,
  verboseBucketDoc,
} from './documents.js';
import { MGMT_PATHS, type VerboseBucketJson } from './pools.js';
import { diskUsage } from './bucket-summary.js';
import { jsonMessage, notFound, sendJson, sendJsonText, sendText } from './rest-io.js';
import { adminAccess, ANY_BUCKET_SETTINGS_READ, BUCKET_SETTINGS_READ, POOLS, PUBLIC, SIGNED_IN, type RestContext, type RestRoute } from './rest-route.js';

/** The pool is always "default" (ns_server has no other); any other name is a 404. */
function requireDefaultPool(rc: RestContext): void {
  if (rc.params.pool !== undefined && rc.params.pool !== 'default') throw notFound();
}

/** The route's bucket; rest-auth has already answered 404 when it does not exist. */
function routeBucket(rc: RestContext): Bucket {
  const bucket = rc.server.engine.bucket(rc.params.bucket ?? '');
  if (bucket === undefined) throw notFound();
  return bucket;
}

/**
 * `?skipMap=true` (exactly that) leaves the vbucket map out of the one-shot bucket documents, as
 * menelaus_web_buckets `build_buckets_info` does for callers that only want the settings; the
 * streaming one always has it.
 */
function skippingMap(rc: RestContext, doc: VerboseBucketJson): Omit<VerboseBucketJson, 'vBucketServerMap'> {
  if (rc.query.get('skipMap') !== 'true') return doc;
  const { vBucketServerMap: _map, ...rest } = doc;
  return rest;
}

/** Render a bucket document for a stream, ending it once the bucket is gone or replaced. */
function bucketRender(rc: RestContext, bucket: Bucket, render: (b: Bucket) => string): () => string | undefined {
  return () => {
    const current = rc.server.engine.bucket(bucket.name);
    return current === undefined || current.uuid !== bucket.uuid ? undefined : render(current);
  };
}

/**
 * This node as `/pools/default` lists it, with where its data lives and how full that disk is:
 * ns_server's `storage` (one hdd path for data and indexes), `availableStorage` and the `hdd` part
 * of `storageTotals`.
 */
function thisNodeDoc(rc: RestContext): Record<string, unknown> {
  const pool = defaultPoolDoc(rc.server, rc.topology, rc.localAddr);
  const node = pool.nodes.find((n) => n.thisNode === true) ?? pool.nodes[0];
  const path = rc.server.engine.options.dataDir;
  const { total, free, used } = diskUsage(path);
  return {
    ...node,
    storage: { ssd: [], hdd: [{ path, index_path: path, cbas_dirs: [path], eventing_path: path, java_home: '', quotaMb: 'none', state: 'ok' }] },
    availableStorage: { hdd: [{ path, sizeKBytes: Math.floor(total / 1024), usagePercent: total > 0 ? Math.round((used / total) * 100) : 0 }] },
    storageTotals: { hdd: { total, quotaTotal: total, used, usedByData: 0, free } },
  };
}

export const POOLS_ROUTES: readonly RestRoute[] = [
  {
    method: 'GET',
    path: '/nodes/:node',
    access: adminAccess('cluster.nodes!read'),
    handler: (rc) => {
      // ns_server knows nodes by their Erlang name too; this node answers as `self`.
      if (rc.params.node !== 'self') throw jsonMessage(404, 'Node is unknown to this cluster.');
      sendJson(rc.res, 200, thisNodeDoc(rc));
    },
  },
  {
    method: 'GET',
    path: '/',
    access: PUBLIC,
    handler: ({ res }) => sendText(res, 200, 'Freshet cluster manager REST API\n'),
  },
  {
    // menelaus_web_misc:handle_versions: the version fields of /pools, for any signed-in caller.
    method: 'GET',
    path: '/versions',
    access: SIGNED_IN,
    handler: (rc) => {
      const { implementationVersion, componentsVersion } = poolsDoc(rc.topology, false, rc.localAddr);
      sendJson(rc.res, 200, { implementationVersion, componentsVersion });
    },
  },
  {
    method: 'GET',
    path: MGMT_PATHS.pools,
    access: POOLS,
    handler: (rc) => sendJson(rc.res, 200, poolsDoc(rc.topology, rc.principal?.isAdmin === true, rc.localAddr)),
  },
  {
    method: 'GET',
    path: '/pools/:pool',
    access: POOLS,
    handler: (rc) => {
      // ns_server keeps `/pools/nodes` as an alias of `/pools/default` (MB-10859: docs once told users to read it).
      if (rc.params.pool !== 'nodes') requireDefaultPool(rc);
      sendJson(rc.res, 200, defaultPoolDoc(rc.server, rc.topology, rc.localAddr));
    },
  },
  {
    method: 'GET',
    path: '/poolsStreaming/:pool',
    access: POOLS,
    handler: (rc) => {
      requireDefaultPool(rc);
      rc.streams.open(rc.res, () => JSON.stringify(defaultPoolDoc(rc.server, rc.topology, rc.localAddr)));
    },
  },
  {
    method: 'GET',
    path: MGMT_PATHS.nodeServices,
    access: POOLS,
    handler: (rc) => sendJsonText(rc.res, nodeServicesText(rc.topology, rc.localAddr)),
  },
  {
    // menelaus_web_cluster:serve_node_services_streaming: the same document as a stream, which
    // gocbcore's HTTP config poller and gocbcorex read when no bucket is open.
    method: 'GET',
    path: MGMT_PATHS.nodeServicesStreaming,
    access: POOLS,
    handler: (rc) => rc.streams.open(rc.res, () => nodeServicesText(rc.topology, rc.localAddr)),
  },
  {
    method: 'GET',
    path: MGMT_PATHS.buckets,
    access: ANY_BUCKET_SETTINGS_READ,
    handler: (rc) => {
      const name = rc.principal?.name ?? '';
      const visible = (bucket: string): boolean => rc.server.users.hasBucketRole(name, bucket);
      sendJson(rc.res, 200, bucketListDoc(rc.server, rc.topology, rc.localAddr, visible).map((doc) => skippingMap(rc, doc)));
    },
  },
  {
    method: 'GET',
    path: MGMT_PATHS.bucket,
    access: BUCKET_SETTINGS_READ,
    handler: (rc) => sendJson(rc.res, 200, skippingMap(rc, verboseBucketDoc(rc.topology, routeBucket(rc), rc.localAddr, true))),
  },
  {
    method: 'GET',
    path: MGMT_PATHS.bucketStreaming,
    access: BUCKET_SETTINGS_READ,
    handler: (rc) => {
      const render = (b: Bucket): string => JSON.stringify(verboseBucketDoc(rc.topology, b, rc.localAddr));
      rc.streams.open(rc.res, bucketRender(rc, routeBucket(rc), render));
    },
  },
  {
    method: 'GET',
    path: MGMT_PATHS.terseBucket,
    access: BUCKET_SETTINGS_READ,
    handler: (rc) => sendJsonText(rc.res, terseBucketText(rc.topology, routeBucket(rc), rc.localAddr)),
  },
  {
    method: 'GET',
    path: MGMT_PATHS.terseBucketStreaming,
    access: BUCKET_SETTINGS_READ,
    handler: (rc) => {
      const render = (b: Bucket): string => terseBucketText(rc.topology, b, rc.localAddr);
      rc.streams.open(rc.res, bucketRender(rc, routeBucket(rc), render));
    },
  },
];
