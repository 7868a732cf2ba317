// Public surface of the replicator: the changes follower, the replication engine over the `Peer`
// interface (HTTP peers, and local Freshet databases opened in this process), and the job manager
// the HTTP face mounts for `_replicate`, `_replicator`, `_active_tasks` and `_scheduler/*`.
export * from './errors.js';
export { FreshetError, isFreshetError } from '../common/errors.js';
export * from './retry.js';
export * from './http-client.js';
export * from './changes-parse.js';
export { BigSeq } from './json-seq.js';
export * from './follower.js';
export * from './seq-store.js';
export * from './peer.js';
export * from './http-peer.js';
export * from './local-peer.js';
export * from './local-changes.js';
export * from './replication-id.js';
export * from './checkpoint.js';
export * from './stats.js';
export * from './replicator.js';
export * from './request.js';
export * from './job.js';
export * from './manager.js';
export { SILENT_LOGGER, type Logger, type LogFn } from '../common/logger.js';
