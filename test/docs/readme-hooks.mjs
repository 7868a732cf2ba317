// Module resolution hooks for README examples run by readme-examples.test.ts.
//
// An example imports `freshet`, `freshet/consumer`, ... as a user would. package.json `exports`
// point at dist/, which is not built in a test run (and would be stale), so those specifiers map to
// the TypeScript sources, which tsx (registered before these hooks) compiles. Every other bare
// specifier written in the example itself (`couchbase`, `pouchdb`, ...) resolves from the
// repository root, because the example lives in a temporary directory (its cwd) with no
// node_modules. Imports made by packages themselves are left to the normal chain, so their own
// nested node_modules still work.
const SRC = new URL('../../src/', import.meta.url);
const ROOT_PACKAGE = new URL('../../package.json', import.meta.url).href;

// Mirrors package.json "exports", with src/*.ts in place of dist/*.js.
const EXPORTS = new Map([
  ['freshet', 'index.ts'],
  ['freshet/consumer', 'consumer/index.ts'],
  ['freshet/replicator', 'replicator/index.ts'],
  ['freshet/codec', 'codec/index.ts'],
]);

let exampleDir = '';

export function initialize(data) {
  exampleDir = data.exampleDir;
}

const isBare = (specifier) => !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);

export async function resolve(specifier, context, nextResolve) {
  const source = EXPORTS.get(specifier);
  if (source !== undefined) return nextResolve(new URL(source, SRC).href, context);
  if (isBare(specifier) && exampleDir !== '' && context.parentURL?.startsWith(exampleDir)) {
    return nextResolve(specifier, { ...context, parentURL: ROOT_PACKAGE });
  }
  return nextResolve(specifier, context);
}
