// Public surface of the pure CouchDB building blocks (no I/O): the storage
// engine and the HTTP layer import from here.
export * from './errors.js';
export * from './rev.js';
export * from './rev-tree.js';
export * from './rev-tree-query.js';
export * from './edit.js';
export * from './selector.js';
export * from './collate.js';
export * from './attachments.js';
export * from './doc.js';
export * from './multipart.js';
export * from './multipart-build.js';
