/**
 * Durable consumer positions ("checkpoints") behind a pluggable store.
 *
 * A checkpoint holds, per vbucket, exactly what cbdatasource's receiver contract stores: the
 * metadata JSON object (`VBucketMetaData`: failover log and snapshot range, dcp.md §4.9) and
 * `lastSeq`. That is everything a resume needs to never skip (start = lastSeq inside the saved
 * snapshot) and to roll back exactly (the failover log names the history we hold), and it is the
 * same state a cbdatasource receiver would keep: `vbuckets[vb].meta` is the JSON its
 * `GetMetaData` returns, `vbuckets[vb].lastSeq` its lastSeq.
 *
 * FileCheckpointStore writes atomically: the JSON goes to a temporary file in the same directory,
 * which is fsynced, renamed over the target, and the directory fsynced, so after a crash the file
 * is either the old checkpoint or the new one, never a mix. The file is created 0600 (owner only).
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeMetaData, type VBucketMetaData } from './metadata.js';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../engine/file-modes.js';
import { CheckpointFormatError } from './errors.js';

export const CHECKPOINT_VERSION = 1;

export interface VBucketCheckpoint {
  readonly lastSeq: number;
  readonly meta: VBucketMetaData;
}

export interface Checkpoint {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly bucket: string;
  /** The bucket uuid the positions belong to, when known. */
  readonly bucketUuid?: string;
  readonly vbuckets: Readonly<Record<string, VBucketCheckpoint>>;
}

export interface CheckpointStore {
  /** The last saved checkpoint, or undefined when there is none yet. */
  load(): Promise<Checkpoint | undefined>;
  /** Replace the checkpoint; resolves once it is durable. Calls are not concurrent. */
  save(checkpoint: Checkpoint): Promise<void>;
}

export { CheckpointFormatError };

/** Validate a parsed checkpoint document (metadata through the cbdatasource JSON parser). */
export function parseCheckpoint(doc: unknown): Checkpoint {
  if (typeof doc !== 'object' || doc === null) throw new CheckpointFormatError('checkpoint is not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.version !== CHECKPOINT_VERSION) throw new CheckpointFormatError(`unsupported checkpoint version ${String(d.version)}`);
  if (typeof d.bucket !== 'string') throw new CheckpointFormatError('checkpoint has no bucket');
  const raw = d.vbuckets;
  if (typeof raw !== 'object' || raw === null) throw new CheckpointFormatError('checkpoint has no vbuckets');
  const vbuckets: Record<string, VBucketCheckpoint> = {};
  for (const [vb, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^\d+$/.test(vb) || typeof v !== 'object' || v === null) throw new CheckpointFormatError(`bad vbucket entry ${vb}`);
    const { lastSeq, meta } = v as Record<string, unknown>;
    if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < 0) throw new CheckpointFormatError(`bad lastSeq for vbucket ${vb}`);
    let m: VBucketMetaData | undefined;
    try {
      m = decodeMetaData(JSON.stringify(meta));
    } catch (e) {
      throw new CheckpointFormatError(`bad metadata for vbucket ${vb}: ${(e as Error).message}`);
    }
    if (m === undefined) throw new CheckpointFormatError(`no metadata for vbucket ${vb}`);
    vbuckets[vb] = { lastSeq, meta: m };
  }
  return {
    version: CHECKPOINT_VERSION,
    bucket: d.bucket,
    ...(typeof d.bucketUuid === 'string' ? { bucketUuid: d.bucketUuid } : {}),
    vbuckets,
  };
}

export class MemoryCheckpointStore implements CheckpointStore {
  #saved: Checkpoint | undefined;
  saves = 0;

  constructor(initial?: Checkpoint) {
    this.#saved = initial;
  }

  get current(): Checkpoint | undefined {
    return this.#saved;
  }

  load(): Promise<Checkpoint | undefined> {
    return Promise.resolve(this.#saved);
  }

  save(checkpoint: Checkpoint): Promise<void> {
    this.#saved = structuredClone(checkpoint);
    this.saves++;
    return Promise.resolve();
  }
}

export class FileCheckpointStore implements CheckpointStore {
  saves = 0;
  constructor(readonly path: string) {}

  async load(): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text) as unknown;
    } catch (e) {
      throw new CheckpointFormatError(`${this.path} is not JSON: ${(e as Error).message}`);
    }
    return parseCheckpoint(doc);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const dir = dirname(this.path);
    // Owner-only, like the data directory (store/private-files.ts).
    await makePrivateDir(dir);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', PRIVATE_FILE_MODE);
    try {
      await fh.writeFile(`${JSON.stringify(checkpoint)}\n`);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fh.close();
    await rename(tmp, this.path);
    // the rename itself is durable only once the directory entry is
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    this.saves++;
  }
}
