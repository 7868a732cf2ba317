/**
 * Response status codes (response header bytes 6-7).
 * Numbers and names: kv include/mcbp/protocol/status.h (cb::mcbp::Status), cross-checked
 * with docs/BinaryProtocol.md "Response Status" and kv etc/couchbase/kv/error_maps/
 * error_map_v2.json (which also lists 0x0a-0x0f, 0x26-0x29, 0x35-0x38, 0x50, 0x51, 0xa4-0xa8);
 * 0x34 ScopeSizeLimitExceeded is from the SDKs' status lists. dcp.md §1.4.
 *
 * Attributes follow the error map (docs/ErrorMap.md):
 * - `retriable`: the same request can succeed later without changing it (error-map attrs
 *   temp / retry-now / retry-later, plus fetch-config for NotMyVbucket and EConfigOnly).
 * - `fatal`: the connection's state is no longer valid and it should be closed or
 *   re-established (error-map attr conn-state-invalidated).
 * Descriptions are ours, kept short. Unknown codes must be treated as failures.
 */

interface StatusRow {
  readonly code: number;
  readonly name: string;
  readonly retriable: boolean;
  readonly fatal: boolean;
  readonly desc: string;
}

const R = true; // readability in the table below
const _ = false;

export const STATUS_TABLE = [
  { code: 0x00, name: 'Success', retriable: _, fatal: _, desc: 'operation completed' },
  { code: 0x01, name: 'KeyEnoent', retriable: _, fatal: _, desc: 'key not found (or no such stream)' },
  { code: 0x02, name: 'KeyEexists', retriable: _, fatal: _, desc: 'key exists / CAS mismatch / stream already exists' },
  { code: 0x03, name: 'E2big', retriable: _, fatal: _, desc: 'value too large' },
  { code: 0x04, name: 'Einval', retriable: _, fatal: _, desc: 'invalid request' },
  { code: 0x05, name: 'NotStored', retriable: _, fatal: _, desc: 'item not stored' },
  { code: 0x06, name: 'DeltaBadval', retriable: _, fatal: _, desc: 'incr/decr on a non-numeric value' },
  { code: 0x07, name: 'NotMyVbucket', retriable: R, fatal: _, desc: 'vbucket not served here; refresh the cluster map' },
  { code: 0x08, name: 'NoBucket', retriable: _, fatal: R, desc: 'no bucket selected' },
  { code: 0x09, name: 'Locked', retriable: R, fatal: _, desc: 'document locked' },
  { code: 0x0a, name: 'DcpStreamNotFound', retriable: _, fatal: R, desc: 'DCP stream not found (v7_dcp_status_codes)' },
  { code: 0x0b, name: 'OpaqueNoMatch', retriable: _, fatal: R, desc: 'DCP opaque does not match (v7_dcp_status_codes)' },
  { code: 0x0c, name: 'EWouldThrottle', retriable: R, fatal: _, desc: 'would have been throttled' },
  { code: 0x0d, name: 'EConfigOnly', retriable: R, fatal: _, desc: 'bucket is config-only; fetch a new config' },
  { code: 0x0e, name: 'NotLocked', retriable: _, fatal: _, desc: 'document not locked' },
  { code: 0x0f, name: 'CasValueInvalid', retriable: _, fatal: _, desc: 'CAS value invalid' },
  { code: 0x1f, name: 'AuthStale', retriable: _, fatal: R, desc: 'authentication context stale; re-authenticate' },
  { code: 0x20, name: 'AuthError', retriable: _, fatal: R, desc: 'authentication failed' },
  { code: 0x21, name: 'AuthContinue', retriable: _, fatal: _, desc: 'SASL: send another SASL_STEP' },
  { code: 0x22, name: 'Erange', retriable: _, fatal: _, desc: 'value out of range (e.g. inconsistent DCP seqnos)' },
  { code: 0x23, name: 'Rollback', retriable: _, fatal: _, desc: 'DCP stream request must roll back; value = seqno' },
  { code: 0x24, name: 'Eaccess', retriable: _, fatal: _, desc: 'no access' },
  { code: 0x25, name: 'NotInitialized', retriable: R, fatal: R, desc: 'node not initialized yet' },
  { code: 0x26, name: 'EncryptionKeyNotAvailable', retriable: _, fatal: _, desc: 'encryption key not available' },
  { code: 0x27, name: 'ChecksumMismatch', retriable: _, fatal: _, desc: 'checksum mismatch' },
  { code: 0x28, name: 'ExpiryOverflow', retriable: _, fatal: _, desc: 'expiry overflows 32-bit time' },
  { code: 0x29, name: 'LockExpiryOverflow', retriable: _, fatal: _, desc: 'lock timeout overflows 32-bit time' },
  { code: 0x30, name: 'RateLimitedNetworkIngress', retriable: R, fatal: _, desc: 'rate limited: network ingress' },
  { code: 0x31, name: 'RateLimitedNetworkEgress', retriable: R, fatal: _, desc: 'rate limited: network egress' },
  { code: 0x32, name: 'RateLimitedMaxConnections', retriable: _, fatal: R, desc: 'rate limited: too many connections' },
  { code: 0x33, name: 'RateLimitedMaxCommands', retriable: R, fatal: _, desc: 'rate limited: too many commands' },
  { code: 0x34, name: 'ScopeSizeLimitExceeded', retriable: _, fatal: _, desc: 'quota: too much data in scope' },
  { code: 0x35, name: 'BucketSizeLimitExceeded', retriable: _, fatal: _, desc: 'bucket holds too much data' },
  { code: 0x36, name: 'BucketResidentRatioTooLow', retriable: _, fatal: _, desc: 'bucket resident ratio too low' },
  { code: 0x37, name: 'BucketDataSizeTooBig', retriable: _, fatal: _, desc: 'bucket data size too big' },
  { code: 0x38, name: 'BucketDiskSpaceTooLow', retriable: _, fatal: _, desc: 'disk space too low' },
  { code: 0x50, name: 'BucketPaused', retriable: _, fatal: _, desc: 'bucket paused' },
  { code: 0x51, name: 'Cancelled', retriable: R, fatal: _, desc: 'request cancelled, nothing changed' },
  { code: 0x80, name: 'UnknownFrameInfo', retriable: _, fatal: _, desc: 'unknown frame info id' },
  { code: 0x81, name: 'UnknownCommand', retriable: _, fatal: _, desc: 'unknown command' },
  { code: 0x82, name: 'Enomem', retriable: R, fatal: _, desc: 'out of memory' },
  { code: 0x83, name: 'NotSupported', retriable: _, fatal: _, desc: 'not supported' },
  { code: 0x84, name: 'Einternal', retriable: _, fatal: R, desc: 'internal error; reconnect' },
  { code: 0x85, name: 'Ebusy', retriable: R, fatal: _, desc: 'busy, try again' },
  { code: 0x86, name: 'Etmpfail', retriable: R, fatal: _, desc: 'temporary failure, try again' },
  { code: 0x87, name: 'XattrEinval', retriable: _, fatal: _, desc: 'invalid extended attribute' },
  { code: 0x88, name: 'UnknownCollection', retriable: _, fatal: _, desc: 'unknown collection' },
  { code: 0x89, name: 'NoCollectionsManifest', retriable: _, fatal: _, desc: 'no collections manifest set' },
  { code: 0x8a, name: 'CannotApplyCollectionsManifest', retriable: _, fatal: _, desc: 'manifest cannot be applied' },
  { code: 0x8b, name: 'CollectionsManifestIsAhead', retriable: _, fatal: _, desc: 'client manifest newer than server' },
  { code: 0x8c, name: 'UnknownScope', retriable: _, fatal: _, desc: 'unknown scope' },
  { code: 0x8d, name: 'DcpStreamIdInvalid', retriable: _, fatal: _, desc: 'DCP stream-id missing or not enabled' },
  { code: 0xa0, name: 'DurabilityInvalidLevel', retriable: _, fatal: _, desc: 'invalid durability level' },
  { code: 0xa1, name: 'DurabilityImpossible', retriable: _, fatal: _, desc: 'durability impossible' },
  { code: 0xa2, name: 'SyncWriteInProgress', retriable: R, fatal: _, desc: 'pending synchronous write on key' },
  { code: 0xa3, name: 'SyncWriteAmbiguous', retriable: _, fatal: _, desc: 'synchronous write outcome unknown' },
  { code: 0xa4, name: 'SyncWriteReCommitInProgress', retriable: R, fatal: _, desc: 'synchronous write re-commit in progress' },
  { code: 0xa5, name: 'RangeScanCancelled', retriable: _, fatal: _, desc: 'range scan cancelled' },
  { code: 0xa6, name: 'RangeScanMore', retriable: _, fatal: _, desc: 'range scan has more data' },
  { code: 0xa7, name: 'RangeScanComplete', retriable: _, fatal: _, desc: 'range scan complete' },
  { code: 0xa8, name: 'VbUuidNotEqual', retriable: _, fatal: _, desc: 'vbucket uuid differs' },
  { code: 0xc0, name: 'SubdocPathEnoent', retriable: _, fatal: _, desc: 'subdoc: path not found' },
  { code: 0xc1, name: 'SubdocPathMismatch', retriable: _, fatal: _, desc: 'subdoc: path and document disagree' },
  { code: 0xc2, name: 'SubdocPathEinval', retriable: _, fatal: _, desc: 'subdoc: invalid path' },
  { code: 0xc3, name: 'SubdocPathE2big', retriable: _, fatal: _, desc: 'subdoc: path too large' },
  { code: 0xc4, name: 'SubdocDocE2deep', retriable: _, fatal: _, desc: 'subdoc: document too deep' },
  { code: 0xc5, name: 'SubdocValueCantinsert', retriable: _, fatal: _, desc: 'subdoc: value cannot be inserted' },
  { code: 0xc6, name: 'SubdocDocNotJson', retriable: _, fatal: _, desc: 'subdoc: document not JSON' },
  { code: 0xc7, name: 'SubdocNumErange', retriable: _, fatal: _, desc: 'subdoc: number out of range' },
  { code: 0xc8, name: 'SubdocDeltaEinval', retriable: _, fatal: _, desc: 'subdoc: invalid delta' },
  { code: 0xc9, name: 'SubdocPathEexists', retriable: _, fatal: _, desc: 'subdoc: path exists' },
  { code: 0xca, name: 'SubdocValueEtoodeep', retriable: _, fatal: _, desc: 'subdoc: value too deep' },
  { code: 0xcb, name: 'SubdocInvalidCombo', retriable: _, fatal: _, desc: 'subdoc: invalid command combination' },
  { code: 0xcc, name: 'SubdocMultiPathFailure', retriable: _, fatal: _, desc: 'subdoc: some paths failed' },
  { code: 0xcd, name: 'SubdocSuccessDeleted', retriable: _, fatal: _, desc: 'subdoc: success on a deleted document' },
  { code: 0xce, name: 'SubdocXattrInvalidFlagCombo', retriable: _, fatal: _, desc: 'subdoc: invalid xattr flags' },
  { code: 0xcf, name: 'SubdocXattrInvalidKeyCombo', retriable: _, fatal: _, desc: 'subdoc: invalid xattr keys' },
  { code: 0xd0, name: 'SubdocXattrUnknownMacro', retriable: _, fatal: _, desc: 'subdoc: unknown macro' },
  { code: 0xd1, name: 'SubdocXattrUnknownVattr', retriable: _, fatal: _, desc: 'subdoc: unknown virtual xattr' },
  { code: 0xd2, name: 'SubdocXattrCantModifyVattr', retriable: _, fatal: _, desc: 'subdoc: virtual xattrs are read-only' },
  { code: 0xd3, name: 'SubdocMultiPathFailureDeleted', retriable: _, fatal: _, desc: 'subdoc: paths failed on deleted doc' },
  { code: 0xd4, name: 'SubdocInvalidXattrOrder', retriable: _, fatal: _, desc: 'subdoc: xattr ops must come first' },
  { code: 0xd5, name: 'SubdocXattrUnknownVattrMacro', retriable: _, fatal: _, desc: 'subdoc: unknown vattr macro' },
  { code: 0xd6, name: 'SubdocCanOnlyReviveDeletedDocuments', retriable: _, fatal: _, desc: 'subdoc: only deleted docs can be revived' },
  { code: 0xd7, name: 'SubdocDeletedDocumentCantHaveValue', retriable: _, fatal: _, desc: 'subdoc: deleted doc cannot have a value' },
  { code: 0xd8, name: 'SubdocFieldNotBinaryValue', retriable: _, fatal: _, desc: 'subdoc: field is not a binary value' },
] as const satisfies readonly StatusRow[];

export type StatusInfo = (typeof STATUS_TABLE)[number];
export type StatusName = StatusInfo['name'];

export const Status = Object.fromEntries(STATUS_TABLE.map((s) => [s.name, s.code])) as {
  readonly [K in StatusName]: Extract<StatusInfo, { name: K }>['code'];
};

/** 0xff00-0xffff are reserved for end-user applications (proxies); Couchbase never sends them. */
export const RESERVED_USER_STATUS_START = 0xff00;

const byCode = new Map<number, StatusRow>(STATUS_TABLE.map((s) => [s.code, s]));

export function statusInfo(code: number): StatusRow | undefined {
  return byCode.get(code);
}

export function statusName(code: number): string {
  return byCode.get(code)?.name ?? `0x${code.toString(16).padStart(4, '0')}`;
}

export function isKnownStatus(code: number): boolean {
  return byCode.has(code);
}

export function isSuccess(code: number): boolean {
  return code === Status.Success;
}

/** Unknown codes are not retriable: without an error map a client must treat them as failures. */
export function isRetriableStatus(code: number): boolean {
  return byCode.get(code)?.retriable === true;
}

export function isFatalStatus(code: number): boolean {
  return byCode.get(code)?.fatal === true;
}
