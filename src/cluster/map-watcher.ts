/**
 * Watching the cluster-map file: stat polling (fs.watchFile), which sees atomic renames, editors'
 * replace-on-save and files that do not exist yet alike, where fs.watch on a file loses track of a
 * replaced inode. The interval is short (default 100 ms) because maps change rarely and a stat is
 * cheap; tests therefore never wait long for a move.
 *
 * Every change is read and validated. A file that is missing, unreadable or invalid is reported
 * once per distinct problem and the previous map stays in force: a half-written or mistyped file
 * must never take a node down. A valid file is handed to `onMap` only when its rev is above the
 * last one applied (map-file.ts `rev`); maps are handed over one at a time, and when several
 * edits land while one is being applied only the newest is applied next. A map whose apply failed
 * is not counted as applied.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { ClusterMapFileError, readClusterMapFile, sameMapContent, type ClusterMapFile } from './map-file.js';

export interface MapWatcherOptions {
  readonly file: string;
  /** Stat polling interval in ms (default 100). */
  readonly intervalMs?: number;
  /** Apply a new map; the next one waits until this settles. */
  readonly onMap: (map: ClusterMapFile) => Promise<void>;
  /** A problem with the file (or an apply that failed); the previous map stays. */
  readonly onProblem: (err: Error) => void;
}

export class MapWatcher {
  readonly #o: MapWatcherOptions;
  #applied: ClusterMapFile | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #lastProblem = '';
  readonly #listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) void this.check();
  };

  constructor(options: MapWatcherOptions) {
    this.#o = options;
  }

  /** The last map handed to `onMap`. */
  get current(): ClusterMapFile | undefined {
    return this.#applied;
  }

  /** Read the file now and start polling it. Resolves once the first read (and apply) is done. */
  async start(): Promise<void> {
    watchFile(this.#o.file, { interval: this.#o.intervalMs ?? 100, persistent: false }, this.#listener);
    await this.check();
  }

  /** Read the file and apply it if it is a newer map. Concurrent calls coalesce into one more run. */
  check(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readOnce();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    unwatchFile(this.#o.file, this.#listener);
    await this.#running;
  }

  async #readOnce(): Promise<void> {
    let map: ClusterMapFile | undefined;
    try {
      map = await readClusterMapFile(this.#o.file);
    } catch (err) {
      this.#problem(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (map === undefined || this.#closed) return; // not written yet: keep waiting
    const applied = this.#applied;
    if (applied !== undefined && map.rev <= applied.rev) {
      if (map.rev === applied.rev && sameMapContent(map, applied)) return;
      this.#problem(new ClusterMapFileError('rev', `rev ${map.rev} is not above the applied rev ${applied.rev}; raise it with every edit`));
      return;
    }
    this.#lastProblem = '';
    this.#applied = map;
    try {
      await this.#o.onMap(map);
    } catch (err) {
      // Not in force after all: the next change of the file (even a touch) tries this rev again.
      this.#applied = applied;
      this.#problem(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #problem(err: Error): void {
    if (err.message === this.#lastProblem) return;
    this.#lastProblem = err.message;
    this.#o.onProblem(err);
  }
}
