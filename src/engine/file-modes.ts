/**
 * The owner-only modes of the data directory and its files (store/private-files.ts), for the
 * other things Freshet writes to disk (consumer checkpoints, replicator sequence files), which
 * reach storage details only through the engine.
 */
export { makePrivateDir, makePrivateDirSync, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../store/private-files.js';
