/** Freshet's library API. */
export { Engine, type EngineOptions, type CreateBucketOptions } from './engine/engine.js';
export { Bucket } from './engine/bucket.js';
export { SYSTEM_CLOCK, type Clock } from './engine/clock.js';
export { EngineError, ENGINE_ERRORS, isEngineError, type EngineErrorCode, type EngineErrorKind } from './engine/errors.js';
export { FreshetError, isFreshetError, type FreshetErrorOptions } from './common/errors.js';
export { VbFollower } from './engine/follower.js';
export { BucketChangeFollower } from './engine/changes.js';
export { vbucketOf } from './engine/vbucket-hash.js';
export * from './engine/types.js';
export { FreshetServer, type ServerOptions } from './server/freshet-server.js';
export { installProcessGuard, type ProcessGuard } from './server/process-guard.js';
export { StorageError, isStorageError, DataDirLockedError, type StorageState } from './engine/errors.js';
export { SILENT_LOGGER, type Logger, type LogFn } from './common/logger.js';
