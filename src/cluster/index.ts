/**
 * Development clusters: several Freshet processes serving one bucket from a shared cluster-map
 * file, with intra-cluster replication so a vbucket moves without loss (for development and
 * tests; production scale-out is a real Couchbase cluster). The public surface; the rest of the
 * folder is internal.
 */
export { ClusterMember, type ClusterMemberOptions } from './member.js';
export {
  ClusterMapFileError,
  formatClusterMapFile,
  parseClusterMapFile,
  readClusterMapFile,
  validateClusterMap,
  type ClusterMapFile,
  type MapBucket,
  type MapNode,
} from './map-file.js';
export type { ApplySummary } from './map-apply.js';
export type { ReplicaConnectionStats } from './replica-connection.js';
