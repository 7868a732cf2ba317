/**
 * Typed lifecycle events of a BucketDataSource (nats.js `status()` style, practice 14). They are
 * observations, never required for correctness; listeners must not throw (a throwing listener is
 * reported with process.emitWarning and otherwise ignored).
 */
export type DataSourceStatus =
  | { readonly type: 'map'; readonly rev: number; readonly revEpoch: number; readonly servers: readonly string[]; readonly source: string }
  | { readonly type: 'connecting'; readonly server: string; readonly attempt: number }
  | { readonly type: 'connected'; readonly server: string }
  | { readonly type: 'disconnected'; readonly server: string; readonly error?: Error }
  | { readonly type: 'reconnecting'; readonly server: string; readonly delayMs: number; readonly attempt: number }
  | { readonly type: 'stream-requested'; readonly server: string; readonly vbucket: number; readonly startSeqno: number; readonly endSeqno: number; readonly vbUuid: number }
  | { readonly type: 'stream-started'; readonly server: string; readonly vbucket: number }
  | { readonly type: 'stream-end'; readonly server: string; readonly vbucket: number; readonly reason: string }
  | { readonly type: 'stream-retry'; readonly server: string; readonly vbucket: number; readonly delayMs: number; readonly attempt: number }
  | { readonly type: 'rollback'; readonly vbucket: number; readonly vbUuid: number; readonly seqno: number }
  | { readonly type: 'not-my-vbucket'; readonly server: string; readonly vbucket: number }
  | { readonly type: 'unknown-message'; readonly server: string; readonly opcode: number; readonly magic: number }
  | { readonly type: 'dead-connection'; readonly server: string }
  | { readonly type: 'complete' }
  | { readonly type: 'error'; readonly error: Error }
  | { readonly type: 'closed' };

export type StatusListener = (e: DataSourceStatus) => void;

export class StatusEmitter {
  readonly #listeners = new Set<StatusListener>();

  on(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(e: DataSourceStatus): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        process.emitWarning(`BucketDataSource status listener threw: ${String(err)}`);
      }
    }
  }
}
