/**
 * Private files: the data directory holds every document and the users' password hashes, so it is
 * created 0700 and its files 0600 (owner only). Directories and files that already exist keep
 * their modes — changing an operator's chosen permissions behind their back is not ours to do —
 * but ones readable or writable by group or others are reported so the server can warn at start.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** A path whose permission bits give group or others access. */
export interface ExposedPath {
  path: string;
  /** Permission bits (mode & 0o777). */
  mode: number;
  /** What to run to make it private. */
  fix: string;
}

function check(path: string, out: ExposedPath[]): void {
  const st = statSync(path);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    const want = st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    out.push({ path, mode, fix: `chmod ${want.toString(8)} ${path}` });
  }
}

/** The directory and its direct entries that group or others can access. */
export function exposedPaths(dir: string): ExposedPath[] {
  const out: ExposedPath[] = [];
  check(dir, out);
  for (const name of readdirSync(dir)) {
    try {
      check(join(dir, name), out);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // gone since readdir
    }
  }
  return out;
}

/** The directories to create, outermost first, for `path` to exist. */
function missingDirs(path: string): string[] {
  const out: string[] = [];
  for (let dir = resolve(path); !existsSync(dir); dir = dirname(dir)) {
    out.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  return out;
}

/**
 * `mkdir -p` with the private mode, one level at a time. Node 20's `recursive: true` never
 * returns under a pseudo-filesystem such as /proc (mkdir there answers ENOENT for the child and
 * EEXIST for the parent, and libuv retries forever, the sync form blocking the process); a
 * level-by-level mkdir fails with ENOENT instead.
 */
export function makePrivateDirSync(path: string): void {
  for (const dir of missingDirs(path)) {
    try {
      mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** `makePrivateDirSync` without blocking. */
export async function makePrivateDir(path: string): Promise<void> {
  for (const dir of missingDirs(path)) {
    try {
      await mkdir(dir, { mode: PRIVATE_DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
