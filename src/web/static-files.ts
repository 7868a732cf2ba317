/**
 * Static files served from one folder (the management port's console, public/ui/): the file a
 * request path names, if and only if it lies inside that folder, with its content type.
 *
 * The request path arrives as segments already percent-decoded one by one (path.ts), so an encoded
 * '/' ('..%2F..%2Fetc') or '\' reaches here inside a segment; every segment is therefore checked
 * on its own and refused when it is empty, '.', '..', hidden (leading '.'), or holds a separator
 * or NUL. The resolved file is then checked again by its real path (symlinks followed) to be
 * inside the folder's real path, so nothing outside the folder is ever read. Only regular files
 * with a known extension are served; anything else is "not found" (undefined), never an error.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';

/** Content types by extension; anything else is not served. */
export const STATIC_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

/** A path segment that may name something inside the folder. */
function safeSegment(s: string): boolean {
  return s.length > 0 && !s.startsWith('.') && !/[/\\\0]/.test(s);
}

function inside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export class StaticFolder {
  #realRoot: Promise<string> | undefined;

  constructor(readonly root: string) {}

  /**
   * The file at `segments` (decoded path segments under the folder), or undefined when the path
   * is unsafe, outside the folder, not a regular file, or of an unknown type.
   */
  async read(segments: readonly string[]): Promise<StaticFile | undefined> {
    if (segments.length === 0 || !segments.every(safeSegment)) return undefined;
    const contentType = STATIC_CONTENT_TYPES[extname(segments.at(-1)!).toLowerCase()];
    if (contentType === undefined) return undefined;
    const candidate = join(this.root, ...segments);
    if (!inside(this.root, candidate)) return undefined;
    try {
      const root = await (this.#realRoot ??= realpath(this.root));
      const real = await realpath(candidate);
      if (!inside(root, real) || !(await stat(real)).isFile()) return undefined;
      return { body: await readFile(real), contentType };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') return undefined;
      throw err;
    }
  }
}

