/**
 * The render part of CouchDB's function environment (apache/couchdb share/server/render.js and
 * mimeparse.js), for show, list and update functions: a JavaScript fragment that couch-env.ts
 * places inside its environment, where it defines the globals `provides`, `registerType`,
 * `start`, `send` and `getRow`, and the runners `renderShow`, `renderList` and `renderUpdate`.
 *
 * - A show function `(doc, req)` answers a string (the body) or a response object (`code`,
 *   `headers`, `body` | `json` | `base64`). It may write the body with `send` (after `start`),
 *   and may offer several formats with `provides(key, fn)`: the one picked by `?format=`, else by
 *   the request's `Accept` (mimeparse's best match over the registered types), else the first
 *   offered, runs and its body is appended, with its type as the default `Content-Type`. No
 *   match is `not_acceptable`.
 * - An update function `(doc, req)` answers `[doc, response]`; the host saves a non-null doc.
 *   It refuses GET, as render.js does.
 * - A rewrite function (the design document's `rewrites` as a string) `(req)` answers a path, an
 *   object (`path`, `query`, `method`, `headers`, `body`, or `code` for an answer of its own) or
 *   nothing: render.js's rewrite hands back `["ok", {path, method: req.method}]` for a string,
 *   `["ok", value]` for any other truthy value and `["no_dispatch_rule"]` for a falsy one; the
 *   host checks the object (chttpd_rewrite, couch_query_servers:rewrite/3).
 * - A list function `(head, req)` reads the view's rows with `getRow()` (null after the last) and
 *   writes its output with `start`/`send`; what it returns, or its offered format's answer, is
 *   appended. It runs as render.js `runList` does, over couchjs's list protocol: the first
 *   `getRow()` answers `["start", chunks, head]`, each later one that needs rows
 *   `["chunks", chunks(, head when start() was called again)]`, and the function's return
 *   `["end", chunks(, head)]`. The host (`__hostList`, an asyncified host function of the list
 *   runner, list-runner.ts) takes each message, writes its chunks, and answers the next batch of
 *   rows (a JSON array, `null` after the last: list_end); rows are handed out one by one from
 *   the batch, so output is flushed once per batch rather than once per row.
 *
 * Written for Freshet from the behaviour those files define; the default types are CouchDB's.
 */
export const RENDER_ENV_SOURCE = String.raw`
  var render = null;
  // The list runner's host function (absent in the synchronous runtimes, which run no lists).
  var hostList = global.__hostList;
  delete global.__hostList;
  var DEFAULT_TYPES = [
    ['all', '*/*'], ['text', 'text/plain; charset=utf-8', 'txt'], ['html', 'text/html; charset=utf-8'],
    ['xhtml', 'application/xhtml+xml', 'xhtml'], ['xml', 'application/xml', 'text/xml', 'application/x-xml'],
    ['js', 'text/javascript', 'application/javascript', 'application/x-javascript'], ['css', 'text/css'],
    ['ics', 'text/calendar'], ['csv', 'text/csv'], ['rss', 'application/rss+xml'], ['atom', 'application/atom+xml'],
    ['yaml', 'application/x-yaml', 'text/yaml'], ['multipart_form', 'multipart/form-data'],
    ['url_encoded_form', 'application/x-www-form-urlencoded'], ['json', 'application/json', 'text/x-json']
  ];
  function inRender(name) {
    if (render === null) throw ['error', 'not_supported', name + '() is only available in show, list and update functions'];
    return render;
  }
  function registerTypeIn(r, key, mimes) {
    r.mimesByKey[key] = mimes;
    for (var i = 0; i < mimes.length; i++) r.keysByMime[mimes[i]] = key;
  }
  function beginRender() {
    render = { chunks: [], startResp: {}, newHeader: false, offered: [], mimesByKey: {}, keysByMime: {}, contentType: null };
    for (var i = 0; i < DEFAULT_TYPES.length; i++) registerTypeIn(render, DEFAULT_TYPES[i][0], DEFAULT_TYPES[i].slice(1));
  }
  global.registerType = function (key) {
    registerTypeIn(inRender('registerType'), key, Array.prototype.slice.call(arguments, 1));
  };
  global.provides = function (key, fn) { inRender('provides').offered.push([key, fn]); };
  global.start = function (resp) {
    var r = inRender('start');
    r.startResp = resp || {};
    r.newHeader = true;
  };
  global.send = function (chunk) { inRender('send').chunks.push(String(chunk)); };
  // render.js getRow: the first call sends "start" (sendStart), later ones "chunks" (blowChunks),
  // here only when the current batch of rows is used up.
  global.getRow = function () {
    var r = render;
    if (r === null || r.batch === undefined) throw ['error', 'not_supported', 'getRow() is only available in list functions'];
    if (r.lastRow) return null;
    // couchjs would have flushed what was sent so far here (see renderList's catch).
    r.mark = r.chunks.length;
    if (r.next < r.batch.length) return r.batch[r.next++];
    var msg;
    if (!r.gotRow) {
      r.gotRow = true;
      msg = ['start', r.chunks, r.contentType ? typeHeaders(r.startResp) : r.startResp];
    } else {
      msg = r.newHeader ? ['chunks', r.chunks, r.startResp] : ['chunks', r.chunks];
    }
    r.newHeader = false;
    r.chunks = [];
    r.mark = 0;
    var batch = JSON.parse(hostList(JSON.stringify(msg)));
    if (batch === null || batch.length === 0) {
      r.lastRow = true;
      return null;
    }
    r.batch = batch;
    r.next = 1;
    return batch[0];
  };

  // mimeparse: a media range's type, subtype and parameters (q defaults to 1).
  function parseRange(range) {
    var parts = String(range).split(';'), full = parts[0].trim(), params = {};
    if (full === '*') full = '*/*';
    for (var i = 1; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (eq > 0) params[parts[i].slice(0, eq).trim()] = parts[i].slice(eq + 1).trim();
    }
    var q = parseFloat(params.q);
    if (params.q === undefined || isNaN(q) || q < 0 || q > 1) params.q = '1';
    var tp = full.split('/');
    return [tp[0].trim(), (tp[1] || '*').trim(), params];
  }
  // How well the header's ranges fit one mime type: [fitness, quality] of the best-fitting range.
  function fitness(mime, ranges) {
    var t = parseRange(mime), best = -1, bestQ = 0;
    for (var i = 0; i < ranges.length; i++) {
      var r = ranges[i];
      if ((r[0] !== t[0] && r[0] !== '*' && t[0] !== '*') || (r[1] !== t[1] && r[1] !== '*' && t[1] !== '*')) continue;
      var f = (r[0] === t[0] ? 100 : 0) + (r[1] === t[1] ? 10 : 0);
      for (var k in t[2]) if (k !== 'q' && r[2][k] === t[2][k]) f++;
      if (f > best) { best = f; bestQ = parseFloat(r[2].q); }
    }
    return [best, bestQ];
  }
  // The supported type the header likes best (ties: the later one), or '' when it takes none.
  function bestMatch(supported, header) {
    var ranges = String(header).split(',').map(parseRange), best = null, bestMime = '';
    for (var i = 0; i < supported.length; i++) {
      var fq = fitness(supported[i], ranges);
      if (best === null || fq[0] > best[0] || (fq[0] === best[0] && fq[1] >= best[1])) { best = fq; bestMime = supported[i]; }
    }
    return best !== null && best[1] > 0 ? bestMime : '';
  }
  function headerOf(req, name) {
    var headers = (req && req.headers) || {};
    for (var k in headers) if (k.toLowerCase() === name) return headers[k];
    return undefined;
  }
  // The offered format the request asks for: ?format=, else Accept, else the first offered.
  function runProvides(req) {
    var r = render, key = null, accept = headerOf(req, 'accept'), supported = [];
    for (var i = 0; i < r.offered.length; i++) supported = supported.concat(r.mimesByKey[r.offered[i][0]] || []);
    if (req && req.query && req.query.format) {
      key = req.query.format;
      r.contentType = (r.mimesByKey[key] || [null])[0];
    } else if (accept) {
      var mime = bestMatch(supported, accept);
      key = r.keysByMime[mime] || null;
      r.contentType = mime || null;
    } else if (r.offered.length > 0) {
      key = r.offered[0][0];
      r.contentType = (r.mimesByKey[key] || [null])[0];
    }
    for (var j = 0; j < r.offered.length; j++) if (r.offered[j][0] === key) return r.offered[j][1]();
    var types = r.offered.map(function (o) { return (r.mimesByKey[o[0]] || []).join(', ') || o[0]; });
    throw ['error', 'not_acceptable', 'Content-Type ' + (accept || key) + ' not supported, try one of: ' + types.join(', ')];
  }
  function wrapResponse(resp) { return typeof resp === 'string' ? { body: resp } : resp; }

  // A Content-Type from provides() unless the response names its own.
  function typeHeaders(resp) {
    resp.headers = resp.headers || {};
    for (var k in resp.headers) if (k.toLowerCase() === 'content-type') return resp;
    if (render.contentType) resp.headers['Content-Type'] = render.contentType;
    return resp;
  }

  function renderShow(fn, args) {
    beginRender();
    try {
      var resp = wrapResponse(fn.apply(ddoc, args) || {});
      if (resp === null || typeof resp !== 'object') throw ['error', 'render_error', 'undefined response from show function'];
      if (render.chunks.length > 0) {
        resp.headers = resp.headers || {};
        for (var h in render.startResp) resp.headers[h] = render.startResp[h];
        resp.body = render.chunks.join('') + (resp.body || '');
        render.chunks = [];
      }
      if (render.offered.length > 0) {
        var provided = wrapResponse(runProvides(args[1]) || {});
        resp.body = (resp.body || '') + render.chunks.join('') + ((provided && provided.body) || '');
        typeHeaders(resp);
      }
      return resp;
    } catch (e) {
      // render.js runShow: a function that reads a field of the null document it got for a
      // missing id is the document's absence, CouchDB's 404, not the function's error.
      if (args[0] === null && e instanceof TypeError && /annot read propert.* of null/.test(String(e.message))) {
        throw ['error', 'not_found', 'document not found'];
      }
      throw e;
    } finally {
      render = null;
    }
  }

  // render.js runList. args: [head, req]. Answers the "end" message: the last chunks, and the
  // head when start() was called after the last getRow().
  function renderList(fn, args) {
    if (typeof hostList !== 'function') throw ['error', 'not_supported', 'list functions run in the list runner'];
    beginRender();
    render.batch = [];
    render.next = 0;
    render.gotRow = false;
    render.lastRow = false;
    render.mark = 0;
    try {
      var tail = fn.apply(ddoc, [args[0], args[1]]);
      if (render.offered.length > 0) tail = runProvides(args[1]);
      if (!render.gotRow) getRow();
      if (tail !== undefined && tail !== null) render.chunks.push(typeof tail === 'object' ? String(tail.body || '') : String(tail));
      return render.newHeader ? ['end', render.chunks, render.startResp] : ['end', render.chunks];
    } catch (e) {
      // couchjs flushes the output at every getRow(): what was sent before the last one reaches
      // the client before the error does, though here it waited for the batch to run out.
      if (render.gotRow && render.mark > 0) hostList(JSON.stringify(['chunks', render.chunks.slice(0, render.mark)]));
      throw e;
    } finally {
      render = null;
    }
  }

  function renderRewrite(fn, args) {
    var result = fn.apply(ddoc, args);
    if (!result) return ['no_dispatch_rule'];
    if (typeof result === 'string') return ['ok', { path: result, method: args[0].method }];
    return ['ok', result];
  }

  function renderUpdate(fn, args) {
    if (args[1] && args[1].method === 'GET') throw ['error', 'method_not_allowed', 'Update functions do not allow GET'];
    beginRender();
    try {
      var result = fn.apply(ddoc, args);
      var resp = isArray(result) ? wrapResponse(result[1]) : undefined;
      if (resp === null || typeof resp !== 'object') throw ['error', 'render_error', 'undefined response from update function'];
      return [result[0] === undefined ? null : result[0], resp];
    } finally {
      render = null;
    }
  }
`;
