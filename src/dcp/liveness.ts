/**
 * DCP_NOOP and dead-consumer detection for one producer connection.
 * Source: kv engines/ep/src/dcp/producer.cc `maybeSendNoop`, `maybeDisconnect`, `handleResponse`;
 * docs/dcp/documentation/dead-connections.md, commands/no-op.md; dcp.md §3.7.
 *
 * - Nothing happens until the consumer enabled noops (`enable_noop=true`) and opened a stream.
 * - A noop is sent once `interval` has passed since the previous one *and* its reply came back
 *   (kv's `pendingRecv`); opaques count up from 10,000,000 so they never collide with the
 *   consumer's own opaques (kv producer.cc comment).
 * - A reply must carry the opaque of the outstanding noop; anything else is a protocol error and
 *   the producer disconnects (kv `handleResponse` returns false).
 * - Idle timeout: kv disconnects after `dcp_idle_timeout` (default 360 s) without receiving
 *   anything. Freshet uses twice the negotiated noop interval instead, the rule a consumer
 *   applies to its producer (dcp.md §3.7, java-dcp-client) and what no-op.md describes (a noop
 *   unanswered for one interval after it was sent). With the usual intervals (120 s cbdatasource
 *   and java-dcp-client, 180 s gocbcore) that is 240-360 s, kv's order of magnitude.
 */
import type { ProducerSettings } from './settings.js';

export interface LivenessHost {
  readonly settings: ProducerSettings;
  /** True once a stream was accepted on this connection. */
  readonly hasStreams: boolean;
  /** Send a DCP_NOOP request with this opaque (outside flow control). */
  sendNoop(opaque: number): void;
  disconnect(reason: string): void;
}

const FIRST_NOOP_OPAQUE = 10_000_000;
const MIN_TICK_MS = 20;
const MAX_TICK_MS = 1000;

export class Liveness {
  private opaque = FIRST_NOOP_OPAQUE - 1;
  private pendingReply = false;
  private lastNoopSent: number;
  private lastReceived: number;
  private timer: NodeJS.Timeout | null = null;
  private armed = false;
  noopsSent = 0;

  constructor(
    private readonly host: LivenessHost,
    private readonly now: () => number = Date.now,
  ) {
    this.lastNoopSent = now();
    this.lastReceived = now();
  }

  get waitingForReply(): boolean {
    return this.pendingReply;
  }

  get lastReceiveTime(): number {
    return this.lastReceived;
  }

  get idleTimeoutMs(): number {
    return 2 * this.host.settings.noopIntervalMs;
  }

  start(): void {
    if (this.timer === null) this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Anything arrived from the consumer. */
  received(): void {
    this.lastReceived = this.now();
  }

  /** A DCP_NOOP response arrived; false when it answers no outstanding noop (disconnect). */
  noopReply(opaque: number): boolean {
    this.received();
    if (!this.pendingReply || opaque !== this.opaque) return false;
    this.pendingReply = false;
    return true;
  }

  private schedule(): void {
    const every = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(this.host.settings.noopIntervalMs / 4)));
    this.timer = setTimeout(() => this.tick(), every);
    this.timer.unref();
  }

  /** The noop settings changed: check again at the new pace. */
  reschedule(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.schedule();
  }

  /** One check: disconnect an idle consumer, or send the next noop when due. */
  tick(): void {
    this.timer = null;
    const { settings, hasStreams } = this.host;
    const now = this.now();
    if (!settings.noopEnabled || !hasStreams || !this.armed) {
      // Both clocks start when noops become relevant (noop enabled and a stream open).
      this.armed = settings.noopEnabled && hasStreams;
      this.lastNoopSent = this.lastReceived = now;
    } else if (now - this.lastReceived > this.idleTimeoutMs) {
      this.host.disconnect(`nothing received for ${now - this.lastReceived} ms (idle timeout ${this.idleTimeoutMs} ms)`);
      return;
    } else if (!this.pendingReply && now - this.lastNoopSent >= settings.noopIntervalMs) {
      this.opaque = (this.opaque + 1) >>> 0;
      this.pendingReply = true;
      this.lastNoopSent = now;
      this.noopsSent++;
      this.host.sendNoop(this.opaque);
    }
    this.schedule();
  }
}
