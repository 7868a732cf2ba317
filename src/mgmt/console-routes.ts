/**
 * The live console on the management port: a small static web page (public/ui/) that asks for
 * the administrator's credentials and polls `GET /freshet/stats` with them (HTTP Basic on each
 * call), drawing the numbers with uPlot. ns_server serves its UI under `/ui/` on the same port
 * (and redirects `/ui` there); so does this face.
 *
 *   GET /ui                  302 to /ui/ (relative URLs in the page resolve against /ui/)
 *   GET /ui/                 public/ui/index.html
 *   GET /ui/vendor/NAME      uPlot's browser build and stylesheet, from the installed package
 *   GET /ui/PATH             public/ui/PATH; 404 for anything else (src/web/static-files.ts)
 *
 * The files are public: they carry no data, and the stats they fetch need the admin's
 * credentials. Replies say `Cache-Control: no-cache` (revalidate, so an upgrade shows at once)
 * and forbid framing (the page takes a password).
 *
 * Both folders are found at run time relative to this module, which sits at the same depth in
 * src/ (tsx) and in dist/ (the package), and through the uplot package's own location.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StaticFolder } from '../web/static-files.js';
import { notFound, sendBytes, sendEmpty } from './rest-io.js';
import { PUBLIC, type RestContext, type RestRoute } from './rest-route.js';

export const CONSOLE_PATH = '/ui/';

const PAGES = new StaticFolder(fileURLToPath(new URL('../../public/ui/', import.meta.url)));
const UPLOT = new StaticFolder(join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist'));
/** The only files served from the uplot package. */
const VENDOR_FILES = new Set(['uPlot.iife.min.js', 'uPlot.min.css']);

const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Frame-Options': 'DENY',
  // uPlot sets inline styles from script; everything else comes from this origin.
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
} as const;

async function serve(rc: RestContext, folder: StaticFolder, segments: readonly string[]): Promise<void> {
  const file = await folder.read(segments);
  if (file === undefined) throw notFound();
  sendBytes(rc.res, 200, file.body, { ...HEADERS, 'Content-Type': file.contentType });
}

/** `/ui` and `/ui/` reach the same route (empty segments collapse); only the raw path tells them apart. */
async function root(rc: RestContext): Promise<void> {
  const raw = (rc.req.url ?? '').split('?')[0]!;
  if (!raw.endsWith('/')) {
    sendEmpty(rc.res, 302, { Location: CONSOLE_PATH });
    return;
  }
  await serve(rc, PAGES, ['index.html']);
}

async function vendor(rc: RestContext): Promise<void> {
  const name = rc.params.file ?? '';
  if (!VENDOR_FILES.has(name)) throw notFound();
  await serve(rc, UPLOT, [name]);
}

export const CONSOLE_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: '/ui', access: PUBLIC, handler: root },
  { method: 'GET', path: '/ui/vendor/:file', access: PUBLIC, handler: vendor },
  // The route table joins a tail's segments with '/'; splitting again gives them back, and the
  // parts of a decoded '%2F' ('..%2F..%2Fx') are each checked like any other segment.
  { method: 'GET', path: '/ui/*path', access: PUBLIC, handler: (rc) => serve(rc, PAGES, (rc.params.path ?? '').split('/')) },
];
