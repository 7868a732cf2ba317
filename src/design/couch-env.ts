/**
 * CouchDB's JavaScript function environment, as source evaluated once inside each QuickJS
 * context (runtime.ts). It mirrors apache/couchdb share/server/{util.js,views.js,filter.js,
 * validate.js,loop.js}:
 *
 * - globals `emit`, `log`, `sum`, `toJSON` (= JSON.stringify), `isArray`, and render.js's
 *   `provides`, `registerType`, `start`, `send` (for show, list and update functions; elsewhere
 *   they throw `not_supported`) and `getRow` (list functions), render-env.ts, which also runs
 *   rewrite functions;
 * - `require(path)` for CommonJS modules stored as strings in the design document, with
 *   util.js's `resolveModule` rules (`./`, `../`, the `invalid_require_path` errors, a module
 *   cache per design document); map functions see only `views.lib`, as in views.js;
 * - compile: a function's source is evaluated as an expression (a trailing `;` is allowed, as
 *   CouchDB's and PouchDB's evaluators allow it); failure is `compilation_error` with the text
 *   util.js gives: "<error> (<source>)" or "Expression does not eval to a function. (<source>)";
 * - errors thrown by a function are reported the way loop.js `handleError` does: an
 *   `["error", name, reason]` array or an `{error, reason}` object as is, an Error as its name and
 *   message, anything else as `unnamed_error`; validate_doc_update hands back a thrown non-Error
 *   value (`{forbidden}`, `{unauthorized}`) as validate.js does.
 *
 * The host talks to the environment only through JSON text, so no object handles cross the
 * boundary: `__freshet.compile(kind, pathJson)` → id, `__freshet.call(id, argsJson, reqJson?)` → result JSON
 * `{"ok": value}` or `{"err": [error, reason]}`.
 */
import { RENDER_ENV_SOURCE } from './render-env.js';

export const COUCH_ENV_SOURCE = String.raw`
(function (global) {
  'use strict';
  // Kept for compiling design functions and CommonJS modules; the code they compile cannot reach
  // either (see the end).
  var compileFunction = Function;
  var indirectEval = global.eval;
  var hostLog = global.__hostLog;
  delete global.__hostLog;
  var ddoc = null;
  var moduleCache = {};
  var fns = [];
  var emitted = null;

  function errPair(e) {
    if (isArray(e) && e[0] === 'error') return [String(e[1]), typeof e[2] === 'string' ? e[2] : JSON.stringify(e[2])];
    if (e && typeof e === 'object' && e.error !== undefined && e.reason !== undefined && !(e instanceof Error)) {
      return [String(e.error), typeof e.reason === 'string' ? e.reason : JSON.stringify(e.reason)];
    }
    if (e instanceof Error) return [e.name || 'Error', String(e.message)];
    var text;
    try { text = typeof e === 'string' ? e : JSON.stringify(e); } catch (x) { text = String(e); }
    return ['unnamed_error', text === undefined ? String(e) : text];
  }
  function isArray(a) { return Array.isArray(a); }

  global.emit = function (key, value) {
    if (emitted === null) throw ['error', 'invalid_emit', 'emit() is only available in map functions'];
    emitted.push([key === undefined ? null : key, value === undefined ? null : value]);
  };
  global.log = function (message) {
    if (typeof message !== 'string') message = JSON.stringify(message);
    hostLog(String(message));
    return true;
  };
  global.sum = function (values) {
    var rv = 0;
    for (var i in values) rv += values[i];
    return rv;
  };
  global.toJSON = function (v) { return JSON.stringify(v); };
  global.isArray = isArray;
${RENDER_ENV_SOURCE}

  // util.js resolveModule: walk the design document along the path parts.
  function resolveModule(names, mod, root) {
    if (names.length === 0) {
      if (typeof mod.current !== 'string') {
        throw ['error', 'invalid_require_path', 'Must require a JavaScript string, not: ' + typeof mod.current];
      }
      return { current: mod.current, parent: mod.parent, id: mod.id, exports: {} };
    }
    var n = names.shift();
    if (n === '..') {
      if (!(mod.parent && mod.parent.parent)) {
        throw ['error', 'invalid_require_path', 'Object has no parent ' + JSON.stringify(mod.current)];
      }
      return resolveModule(names, { id: mod.id.slice(0, mod.id.lastIndexOf('/')), parent: mod.parent.parent, current: mod.parent.current });
    } else if (n === '.') {
      if (!mod.parent) throw ['error', 'invalid_require_path', 'Object has no parent ' + JSON.stringify(mod.current)];
      return resolveModule(names, { parent: mod.parent, current: mod.current, id: mod.id });
    } else if (root) {
      mod = { current: root };
    }
    if (mod.current === null || typeof mod.current !== 'object' || mod.current[n] === undefined) {
      throw ['error', 'invalid_require_path', 'Object has no property "' + n + '". ' + JSON.stringify(mod.current)];
    }
    return resolveModule(names, { current: mod.current[n], parent: mod, id: mod.id ? mod.id + '/' + n : n });
  }
  // util.js require: a plain path resolves from the root, "./" and "../" from the requiring
  // module's position; each module runs once per design document (circular requires see {}).
  function makeRequire(root, cacheKey) {
    var cache = moduleCache[cacheKey] || (moduleCache[cacheKey] = {});
    function require(name, module) {
      module = module || {};
      var newModule = resolveModule(String(name).split('/'), module.parent || {}, root);
      if (!Object.prototype.hasOwnProperty.call(cache, newModule.id)) {
        cache[newModule.id] = {};
        try {
          var fn = indirectEval('(function (module, exports, require) { ' + newModule.current + '\n })');
          fn.call(global, newModule, newModule.exports, function (n) { return require(n, newModule); });
        } catch (e) {
          delete cache[newModule.id];
          throw ['error', 'compilation_error', "Module require('" + name + "') raised error " + String(e)];
        }
        cache[newModule.id] = newModule.exports;
      }
      return cache[newModule.id];
    }
    return function (name) { return require(name); };
  }

  function compileSource(source, require) {
    if (!source) throw ['error', 'not_found', 'missing function'];
    var fn;
    try {
      var body = String(source).replace(/[\s;]+$/, '');
      fn = new compileFunction('require', 'return (' + body + '\n);')(require);
    } catch (e) {
      throw ['error', 'compilation_error', String(e) + ' (' + source + ')'];
    }
    if (typeof fn !== 'function') {
      throw ['error', 'compilation_error', 'Expression does not eval to a function. (' + String(source) + ')'];
    }
    return fn;
  }

  function lookup(path) {
    var cur = ddoc;
    for (var i = 0; i < path.length; i++) {
      if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, path[i])) return undefined;
      cur = cur[path[i]];
    }
    return cur;
  }

  var runners = {
    map: function (fn, args) {
      // args: [docs]; per doc its emits, or {err} when it threw: a throwing doc emits nothing
      // (views.js mapDoc). One try spans the loop (re-entered after a throw), as a try/catch and
      // a wrapper object per document cost more than a small map function.
      // A function of two parameters is a Couchbase view's map(doc, meta): meta carries the
      // document's id and revision and type "json" (Couchbase's views pass every document with
      // its metadata; documents with no JSON form are never mapped here).
      var docs = args[0], n = docs.length, out = new Array(n), i = 0, withMeta = fn.length > 1;
      while (i < n) {
        try {
          for (; i < n; i++) {
            emitted = [];
            if (withMeta) fn.call(ddoc, docs[i], { id: docs[i]._id, rev: docs[i]._rev, type: 'json' });
            else fn.call(ddoc, docs[i]);
            out[i] = emitted;
          }
        } catch (e) {
          // An exhausted heap leaves the runtime unusable: it fails the call (sandbox.ts rebuilds
          // the runtime and answers os_process_error), as couchjs dying fails CouchDB's query.
          if (e instanceof InternalError && /out of memory/i.test(String(e.message))) throw e;
          out[i] = { err: errPair(e) };
          i++;
        }
      }
      emitted = null;
      return out;
    },
    reduce: function (fn, args) { return fn.call(null, args[0], args[1], args[2] === true); },
    filter: function (fn, args, f) {
      // args: [docs]; req was sent once (call's third argument) and is kept with the function.
      // filter.js: (fun.apply(ddoc, [doc, req]) && true) || false, answered as "1"/"0" per doc
      // (one short string rather than an array of booleans to serialize). A throw stops the
      // batch there: {pass: verdicts before it, err}, so the caller fails at that document.
      var docs = args[0], req = f.req, out = '';
      try {
        for (var i = 0; i < docs.length; i++) out += fn.call(ddoc, docs[i], req) ? '1' : '0';
      } catch (e) {
        // An exhausted heap leaves the runtime unusable: it fails the call (sandbox.ts rebuilds).
        if (e instanceof InternalError && /out of memory/i.test(String(e.message))) throw e;
        return { pass: out, err: errPair(e) };
      }
      return out;
    },
    show: renderShow,
    list: renderList,
    update: renderUpdate,
    rewrite: renderRewrite,
    validate: function (fn, args) {
      try {
        fn.apply(ddoc, args);
        return 1;
      } catch (e) {
        // validate.js: a runtime Error is an error of the function; any other thrown value is
        // the function's verdict ({forbidden: ...}, {unauthorized: ...}).
        if (e instanceof Error) throw e;
        return { rejected: e === undefined ? null : e };
      }
    }
  };

  global.__freshet = {
    setDdoc: function (json) { ddoc = JSON.parse(json); moduleCache = {}; },
    compile: function (kind, pathJson) {
      try {
        var path = JSON.parse(pathJson);
        var root = kind === 'map' || kind === 'reduce' ? { views: { lib: ddoc && ddoc.views ? ddoc.views.lib : undefined } } : ddoc;
        var fn = compileSource(lookup(path), makeRequire(root, kind === 'map' || kind === 'reduce' ? 'views' : 'ddoc'));
        fns.push({ fn: fn, run: runners[kind] });
        return JSON.stringify({ ok: fns.length - 1 });
      } catch (e) {
        return JSON.stringify({ err: errPair(e) });
      }
    },
    call: function (id, argsJson, reqJson) {
      var f = fns[id];
      try {
        if (reqJson) f.req = JSON.parse(reqJson);
        return JSON.stringify({ ok: f.run(f.fn, JSON.parse(argsJson), f) });
      } catch (e) {
        return JSON.stringify({ err: errPair(e) });
      }
    }
  };

  // No runtime code evaluation from design functions, as CouchDB's couchjs refuses it
  // (view_sandboxing_test): eval, Function and every function's constructor (plain, generator,
  // async) throw. The replacement keeps Function.prototype, so instanceof Function still holds.
  function refuse() { throw new EvalError('code generation from strings disallowed for this context'); }
  refuse.prototype = compileFunction.prototype;
  [function () {}, function* () {}, async function () {}, async function* () {}].forEach(function (f) {
    Object.defineProperty(Object.getPrototypeOf(f), 'constructor', { value: refuse, writable: false, configurable: false });
  });
  global.Function = refuse;
  global.eval = refuse;
})(globalThis);
`;
