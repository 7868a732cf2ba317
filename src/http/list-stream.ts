/**
 * A list function's response, streamed as CouchDB streams it (couch_mrview_show.erl list_cb,
 * send_list_row, send_non_empty_chunk, last_chunk; chttpd send_chunked_error):
 *
 * - The function's head (`start()`, each "start"/"chunks"/"end" message that carries one) sets
 *   the status and headers until the first non-empty chunk starts the chunked response.
 * - Each message's chunks are written as they come, at the socket's pace (`writeChunk` waits for
 *   'drain'), and the next batch of rows is read from the view only then: memory holds one batch,
 *   and a function that returns early stops the view read there (list_cb's `stop`).
 * - A function that produced nothing gets `200` with an empty body (last_chunk with no response:
 *   `chttpd:send_response(Req, 200, [], <<>>)`).
 * - An error before the function's first `getRow()` (start_list_resp, uncaught in CouchDB) is the
 *   request's ordinary error response. One after it (send_list_row's catch) ends the response
 *   with the error as its last chunk, `\n{"code":C,"error":E,"reason":R}\n`; when no chunk was
 *   sent yet the chunked response starts first, with the error's status and the function's
 *   headers.
 */
import { toCouchError } from '../couchdb/errors.js';
import type { ListHost, ListMessage, RenderResponse } from '../design/sandbox.js';
// A type only: the views modules load on first use (view-routes.ts).
import type { RowStream } from '../views/run.js';
import type { RequestCtx } from './request.js';
import { baseHeaders, writeChunk } from './response.js';

/** Status and headers of a head the function gave (chttpd_external parse_external_response). */
export type ListHead = (resp: RenderResponse) => { status: number; headers: Record<string, string> };

/** Rows handed to the function per exchange, at most, and their JSON bytes. */
const BATCH_ROWS = 100;
const BATCH_BYTES = 64 * 1024;

export async function streamList(rc: RequestCtx, source: RowStream, headOf: ListHead, run: (host: ListHost) => Promise<ListMessage>): Promise<void> {
  const res = rc.res;
  let head = headOf({});
  let started = false;
  let begun = false;
  let failure: { err: unknown } | null = null;
  const begin = (status: number): void => {
    if (started) return;
    res.writeHead(status, baseHeaders(head.headers));
    started = true;
  };
  const take = async ([, chunks, resp]: ListMessage): Promise<void> => {
    if (resp !== undefined && !started) head = headOf(resp);
    if (!Array.isArray(chunks) || chunks.length === 0) return; // send_non_empty_chunk(Acc, [])
    begin(head.status);
    const data = chunks.join('');
    if (data.length > 0 && rc.method !== 'HEAD') await writeChunk(res, data);
  };
  const host: ListHost = {
    exchange: async (msg) => {
      begun = true;
      try {
        await take(msg);
      } catch (err) {
        failure = { err };
        return null;
      }
      if (res.destroyed) return null;
      const rows: string[] = [];
      let bytes = 0;
      try {
        while (rows.length < BATCH_ROWS && bytes < BATCH_BYTES) {
          const r = source.rows.next();
          if (r.done === true) break;
          rows.push(r.value);
          bytes += r.value.length;
        }
      } catch (err) {
        // A failed read of the view (its database deleted under an include_docs read, a storage
        // fault) ends the rows as an error, never as their end: the function's output so far
        // then closes with the error chunk, as couch_mrview_show list_cb's fold error does.
        failure = { err };
        return null;
      }
      return rows.length === 0 ? null : rows;
    },
  };
  try {
    const end = await run(host);
    if (failure !== null) throw (failure as { err: unknown }).err;
    await take(end);
    if (!started) res.writeHead(200, baseHeaders({ 'Content-Length': 0 }));
    res.end();
  } catch (err) {
    if (!begun) throw err;
    const couch = toCouchError(err);
    begin(couch.status);
    if (rc.method !== 'HEAD') await writeChunk(res, `\n${JSON.stringify({ code: couch.status, ...couch.toJSON() })}\n`);
    res.end();
  } finally {
    source.close();
  }
}
