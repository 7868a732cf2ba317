/**
 * Durable checkpoints for a changes follower: where to resume after a restart. A store keeps one
 * opaque seq (couch-replication.md §5 "Follower: persist the opaque last_seq; reconnect from it").
 *
 * - `FileSeqStore`: a JSON file, replaced atomically (write a temp file, then rename), so a crash
 *   leaves either the old or the new seq, never a torn one.
 * - `LocalDocSeqStore`: a `_local/` document on the followed database itself, so several machines
 *   following one feed under different ids each resume where they stopped. `_local` docs are not
 *   replicated and never appear in `_changes` (spec §3.7).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeDocId, type DbClient } from './http-client.js';
import type { Seq } from './changes-parse.js';
import { parseJson, stringifyJson } from './json-seq.js';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../engine/file-modes.js';

export interface SeqStore {
  /** The saved seq, or undefined when nothing was saved yet. */
  load(): Promise<Seq | undefined>;
  save(seq: Seq): Promise<void>;
}

export class FileSeqStore implements SeqStore {
  constructor(private readonly path: string) {}

  async load(): Promise<Seq | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = parseJson(text) as { last_seq?: Seq };
    return parsed.last_seq;
  }

  async save(seq: Seq): Promise<void> {
    // Owner-only, like the data directory (store/private-files.ts).
    await makePrivateDir(dirname(this.path));
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, stringifyJson({ last_seq: seq, saved_at: new Date().toISOString() }), { mode: PRIVATE_FILE_MODE });
    await rename(tmp, this.path);
  }
}

export class LocalDocSeqStore implements SeqStore {
  private rev: string | undefined;

  constructor(
    private readonly client: DbClient,
    /** Without the `_local/` prefix. */
    private readonly id: string,
  ) {}

  private get path(): string {
    return encodeDocId(`_local/${this.id}`);
  }

  async load(): Promise<Seq | undefined> {
    const { status, value } = await this.client.json({ method: 'GET', path: this.path, expect: [200, 404] });
    if (status === 404 || typeof value !== 'object' || value === null) return undefined;
    const doc = value as { _rev?: string; last_seq?: Seq };
    this.rev = doc._rev;
    return doc.last_seq;
  }

  async save(seq: Seq): Promise<void> {
    const body = (): Record<string, unknown> => ({ ...(this.rev ? { _rev: this.rev } : {}), last_seq: seq });
    let { status, value } = await this.client.json({ method: 'PUT', path: this.path, json: body(), expect: [200, 201, 409] });
    if (status === 409) {
      // Someone else (or an earlier attempt whose answer was lost) wrote it: take the new rev.
      await this.load();
      ({ status, value } = await this.client.json({ method: 'PUT', path: this.path, json: body() }));
    }
    const rev = (value as { rev?: unknown } | null)?.rev;
    if (typeof rev === 'string') this.rev = rev;
  }
}
