/**
 * What one DCP producer connection has negotiated: the DCP_OPEN flags, the HELLO features that
 * change DCP output, and the DCP_CONTROL settings (controls.ts changes them).
 *
 * Defaults follow kv_engine engines/ep/src/dcp/producer.cc (DcpProducer constructor): noop off
 * with a 20 s interval (`defaultDcpNoopTxInterval`), flow control off, medium priority, cursor
 * dropping eligible unless the name contains "replication", expiry opcode off.
 */
import { DcpOpenFlag } from '../codec/dcp/open.js';

export type NoValueMode = 'value' | 'no-value' | 'no-value-with-datatype';
export type Priority = 'high' | 'medium' | 'low';
export type MarkerVersion = 'v1' | 'v2.2';

export interface ProducerSettings {
  /** Connection name as sent in DCP_OPEN (stats show it as `eq_dcpq:<name>`). */
  readonly name: string;
  readonly openFlags: number;
  readonly includeXattrs: boolean;
  readonly includeDeletedUserXattrs: boolean;
  readonly noValue: NoValueMode;
  /** Deletions use the V2 layout (21-byte extras with the delete time). */
  readonly includeDeleteTimes: boolean;
  /** Open flag 0x200: no deletions in the initial (disk) snapshot of a stream from 0. */
  readonly skipDeletesInInitialBackfill: boolean;
  /** HELLO Collections: keys carry the LEB128 collection id, SEQNO_ADVANCED may be sent. */
  readonly collections: boolean;
  noopEnabled: boolean;
  noopIntervalMs: number;
  priority: Priority;
  expiryOpcode: boolean;
  sendStreamEndOnClientClose: boolean;
  cursorDropping: boolean;
  streamIds: boolean;
  markerVersion: MarkerVersion;
  outOfOrderSnapshots: 'off' | 'on' | 'with-seqno-advanced';
  v7StatusCodes: boolean;
  hifiMfu: boolean;
  backfillOrder: 'round-robin' | 'sequential';
  consumerName: string;
}

export const DEFAULT_NOOP_INTERVAL_MS = 20_000;

export function initialSettings(name: string, openFlags: number, collections: boolean): ProducerSettings {
  const has = (bit: number): boolean => (openFlags & bit) !== 0;
  return {
    name,
    openFlags,
    includeXattrs: has(DcpOpenFlag.IncludeXattrs),
    includeDeletedUserXattrs: has(DcpOpenFlag.IncludeDeletedUserXattrs),
    noValue: has(DcpOpenFlag.NoValue)
      ? 'no-value'
      : has(DcpOpenFlag.NoValueWithUnderlyingDatatype)
        ? 'no-value-with-datatype'
        : 'value',
    includeDeleteTimes: has(DcpOpenFlag.IncludeDeleteTimes),
    skipDeletesInInitialBackfill: has(DcpOpenFlag.SkipDeletesInInitialBackfill),
    collections,
    noopEnabled: false,
    noopIntervalMs: DEFAULT_NOOP_INTERVAL_MS,
    priority: 'medium',
    expiryOpcode: false,
    sendStreamEndOnClientClose: false,
    cursorDropping: !name.includes('replication'),
    streamIds: false,
    markerVersion: 'v1',
    outOfOrderSnapshots: 'off',
    v7StatusCodes: false,
    hifiMfu: false,
    backfillOrder: 'round-robin',
    consumerName: '',
  };
}
