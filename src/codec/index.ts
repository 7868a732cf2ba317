/**
 * Public API of the memcached-binary / DCP codec: pure functions and plain typed
 * messages, no I/O. Shared by Freshet's KV server and its client/DCP consumer.
 */
export * from './errors.js';
export * from './buffer-reader.js';
export * from './buffer-writer.js';
export * from './magic.js';
export * from './opcodes.js';
export * from './status.js';
export * from './datatype.js';
export * from './features.js';
export * from './frame-info.js';
export * from './leb128.js';
export * from './packet.js';
export * from './parser.js';
export type { Bytes } from './layout.js';
export * from './xattr.js';
export * from './bytes.js';

export * from './ops/get.js';
export * from './ops/mutation-token.js';
export * from './ops/mutation.js';
export * from './ops/delete.js';
export * from './ops/arith.js';
export * from './ops/touch.js';
export * from './ops/get-meta.js';
export * from './ops/with-meta.js';
export * from './ops/locks.js';
export * from './ops/observe-seqno.js';
export * from './ops/observe.js';
export * from './ops/hello.js';
export * from './ops/sasl.js';
export * from './ops/select-bucket.js';
export * from './ops/error-map.js';
export * from './ops/cluster-config.js';
export * from './ops/stat.js';
export * from './ops/all-vb-seqnos.js';
export * from './ops/range-scan.js';
export * from './ops/failover-log.js';
export * from './ops/noop.js';
export * from './ops/collections.js';
export * from './ops/subdoc.js';
export * from './ops/subdoc-multi.js';
export * from './ops/tap.js';

export * from './dcp/common.js';
export * from './dcp/open.js';
export * from './dcp/control.js';
export * from './dcp/stream-req.js';
export * from './dcp/close-stream.js';
export * from './dcp/stream-end.js';
export * from './dcp/snapshot-marker.js';
export * from './dcp/mutation.js';
export * from './dcp/deletion.js';
export * from './dcp/expiration.js';
export * from './dcp/noop.js';
export * from './dcp/buffer-ack.js';
export * from './dcp/seqno-advanced.js';
export * from './dcp/system-event.js';
export * from './dcp/set-vbucket-state.js';
export * from './dcp/oso-snapshot.js';
