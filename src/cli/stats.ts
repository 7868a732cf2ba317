/**
 * `freshet stats [--json]`: a readable summary of a running server — buckets (items, tombstones,
 * bytes, seqnos, persistence lag), KV requests, DCP connections and their lag, open `_changes`
 * feeds, replications, storage health and failed logins — read from `GET /freshet/stats` on the
 * management port (src/metrics/documents.ts) with the same connection flags as `freshet bucket`.
 * `--json` prints that document as is.
 */
import type { Command } from 'commander';
import { call, defaultPrinter, describeFailure, withConnection, type ConnectionFlags, type Printer } from './bucket.js';

type Doc = Record<string, unknown>;

const list = (v: unknown): Doc[] => (Array.isArray(v) ? v.filter((x): x is Doc => typeof x === 'object' && x !== null) : []);
const obj = (v: unknown): Doc => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {});
/**
 * A name from the server as one printable cell: DCP connection names are chosen by any client
 * with DCP access, and a raw ESC, CR or newline would reach the operator's terminal (escape
 * sequences) or break the table; control characters and bidi overrides are shown escaped
 * (`\x1b`, `\n`, `\u202e`).
 */
const text = (v: unknown): string =>
  String(v).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = ch.charCodeAt(0);
    return named[ch] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
const num = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-US') : v === null || v === undefined ? '-' : String(v));

/** Left-aligned columns, two spaces apart. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatStats(doc: Doc): string[] {
  const out: string[] = [];
  const buckets = list(doc.buckets);
  out.push(`Buckets (${buckets.length})`);
  out.push(...table(['name', 'items', 'tombstones', 'bytes', 'high seqno', 'persisted', 'lag', 'vbuckets'],
    buckets.map((b) => [text(b.name), num(b.items), num(b.tombstones), num(b.bytes), num(b.highSeqnoSum), num(b.persistedSeqnoSum), num(b.persistenceLag), num(b.numVBuckets)])).map((l) => `  ${l}`));
  const kv = obj(doc.kv);
  out.push('', `KV: ${num(kv.total)} requests (get ${num(kv.get)}, set ${num(kv.set)}, delete ${num(kv.delete)}, arith ${num(kv.arith)}); hits ${num(kv.getHits)}, misses ${num(kv.getMisses)}; ${num(kv.connections)} connections`);
  const conns = list(obj(doc.dcp).connections);
  out.push('', `DCP connections (${conns.length})`);
  if (conns.length > 0) {
    out.push(...table(['bucket', 'name', 'streams', 'items sent', 'remaining', 'buffered bytes'],
      conns.map((c) => [text(c.bucket), text(c.name), num(c.streams), num(c.itemsSent), num(c.itemsRemaining), num(c.bytesBuffered)])).map((l) => `  ${l}`));
  }
  const feeds = obj(doc.feeds);
  const modes = Object.entries(obj(feeds.byMode)).map(([m, n]) => `${text(m)} ${num(n)}`).join(', ');
  out.push('', `_changes feeds: ${num(feeds.count)} open${modes === '' ? '' : ` (${modes})`}`);
  const reps = list(doc.replications);
  out.push('', `Replications (${reps.length})`);
  if (reps.length > 0) {
    out.push(...table(['id', 'state', 'source', 'target', 'read', 'written', 'failed', 'checkpoint', 'pending'],
      reps.map((r) => [text(String(r.id).slice(0, 12)), text(r.state), text(r.source), text(r.target), num(r.docsRead), num(r.docsWritten), num(r.docFailures), typeof r.checkpointedSeq === 'string' ? text(r.checkpointedSeq) : num(r.checkpointedSeq), num(r.pending)])).map((l) => `  ${l}`));
  }
  const storage = obj(doc.storage);
  out.push('', `Storage: ${text(storage.state)}; ${num(storage.flushBatches)} group commits, ${num(storage.writeFailures)} write failures`);
  const auth = obj(doc.auth);
  out.push(`Auth: ${num(auth.failedLogins)} failed logins, ${num(auth.throttledAddresses)} addresses throttled`);
  return out;
}

export function registerStats(program: Command, print: Printer = defaultPrinter): void {
  withConnection(program.command('stats'))
    .description('summarize a running server: buckets, DCP streams and lag, _changes feeds, replications')
    .option('--json', 'print the summary document as JSON')
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      const reply = await call(flags, 'GET', '/freshet/stats');
      if (reply.status !== 200) throw new Error(`could not read the server's stats: ${describeFailure(reply)}`);
      const doc = obj(JSON.parse(reply.text) as unknown);
      if (flags.json === true) print(JSON.stringify(doc, null, 2));
      else for (const line of formatStats(doc)) print(line);
    });
}
