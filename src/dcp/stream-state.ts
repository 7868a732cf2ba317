/**
 * A DCP stream's states and what it needs from its producer (stream.ts), and the lag it reports
 * in stats (kv_engine ActiveStream::getItemsRemaining).
 */
import type { FollowEndReason } from '../engine/types.js';
import type { ProducerSettings } from './settings.js';
import type { ProducerStream } from './stream.js';

export type StreamState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'backfilling' }
  | { readonly kind: 'in-memory' }
  | { readonly kind: 'ending'; readonly reason: number }
  | { readonly kind: 'dead'; readonly reason: number | null };

/** What a stream needs from its producer. */
export interface StreamHost {
  readonly settings: ProducerSettings;
  /** The stream has output (queue it for the send loop). */
  streamReady(stream: ProducerStream): void;
  /** The stream is dead: forget it. */
  streamFinished(stream: ProducerStream): void;
  /** The bucket or engine went away under the stream: the connection must go too. */
  bucketGone(reason: FollowEndReason): void;
  /** Reading storage failed. */
  streamFailed(stream: ProducerStream, err: unknown): void;
}

/** The gap between what a stream may still send and what it sent; 0 once it is ending or dead. */
export function itemsRemaining(state: StreamState['kind'], highSeqno: number, end: number, lastSent: number): number {
  if (state === 'ending' || state === 'dead') return 0;
  return Math.max(0, Math.min(highSeqno, end) - lastSent);
}
