/**
 * Client opcodes (magic 0x80/0x81/0x08/0x18) and server opcodes (magic 0x82/0x83).
 * Source: kv include/mcbp/protocol/opcode.h (ClientOpcode, ServerOpcode) and
 * docs/BinaryProtocol.md "Command Opcodes"; dcp.md §2.1.
 *
 * `quiet` opcodes suppress uninteresting responses (success for mutations, miss for
 * gets); `loud` names the non-quiet twin. `dcp` marks the DCP family (0x50-0x67), whose
 * producer->consumer messages arrive as *requests*. `unsupported` marks opcodes kv
 * keeps reserved but rejects (TAP_FLUSH, range ops, DCP_FLUSH...). The TAP family (0x40-0x47,
 * 0x9e) is served by src/tap (codec ops/tap.ts), though kv_engine dropped it in 5.0.
 * `durability` and `preserveTtl` say which commands take those request frame infos, as kv's
 * OpcodeInformationService (mcbp/protocol/opcode.cc, Attribute::Durability / PreserveTtl): the
 * quiet mutations take no durability requirement, ADD and DELETE no PreserveTtl.
 */

interface Row {
  readonly code: number;
  readonly name: string;
  readonly quiet?: boolean;
  readonly loud?: number;
  readonly dcp?: boolean;
  readonly unsupported?: boolean;
  readonly durability?: boolean;
  readonly preserveTtl?: boolean;
}

export const OPCODE_TABLE = [
  { code: 0x00, name: 'Get' },
  { code: 0x01, name: 'Set', durability: true, preserveTtl: true },
  { code: 0x02, name: 'Add', durability: true },
  { code: 0x03, name: 'Replace', durability: true, preserveTtl: true },
  { code: 0x04, name: 'Delete', durability: true },
  { code: 0x05, name: 'Increment', durability: true, preserveTtl: true },
  { code: 0x06, name: 'Decrement', durability: true, preserveTtl: true },
  { code: 0x07, name: 'Quit' },
  { code: 0x08, name: 'Flush' },
  { code: 0x09, name: 'GetQ', quiet: true, loud: 0x00 },
  { code: 0x0a, name: 'Noop' },
  { code: 0x0b, name: 'Version' },
  { code: 0x0c, name: 'GetK' },
  { code: 0x0d, name: 'GetKQ', quiet: true, loud: 0x0c },
  { code: 0x0e, name: 'Append', durability: true, preserveTtl: true },
  { code: 0x0f, name: 'Prepend', durability: true, preserveTtl: true },
  { code: 0x10, name: 'Stat' },
  { code: 0x11, name: 'SetQ', quiet: true, loud: 0x01, preserveTtl: true },
  { code: 0x12, name: 'AddQ', quiet: true, loud: 0x02 },
  { code: 0x13, name: 'ReplaceQ', quiet: true, loud: 0x03, preserveTtl: true },
  { code: 0x14, name: 'DeleteQ', quiet: true, loud: 0x04 },
  { code: 0x15, name: 'IncrementQ', quiet: true, loud: 0x05, preserveTtl: true },
  { code: 0x16, name: 'DecrementQ', quiet: true, loud: 0x06, preserveTtl: true },
  { code: 0x17, name: 'QuitQ', quiet: true, loud: 0x07 },
  { code: 0x18, name: 'FlushQ', quiet: true, loud: 0x08 },
  { code: 0x19, name: 'AppendQ', quiet: true, loud: 0x0e, preserveTtl: true },
  { code: 0x1a, name: 'PrependQ', quiet: true, loud: 0x0f, preserveTtl: true },
  { code: 0x1b, name: 'Verbosity' },
  { code: 0x1c, name: 'Touch', durability: true },
  { code: 0x1d, name: 'Gat', durability: true },
  { code: 0x1e, name: 'GatQ', quiet: true, loud: 0x1d },
  { code: 0x1f, name: 'Hello' },
  { code: 0x20, name: 'SaslListMechs' },
  { code: 0x21, name: 'SaslAuth' },
  { code: 0x22, name: 'SaslStep' },
  { code: 0x23, name: 'IoctlGet' },
  { code: 0x24, name: 'IoctlSet' },
  { code: 0x25, name: 'ConfigValidate' },
  { code: 0x26, name: 'ConfigReload' },
  { code: 0x27, name: 'AuditPut' },
  { code: 0x28, name: 'AuditConfigReload' },
  { code: 0x29, name: 'Shutdown' },
  { code: 0x2a, name: 'SetBucketThrottleProperties' },
  { code: 0x2b, name: 'SetBucketDataLimitExceeded' },
  { code: 0x2c, name: 'SetNodeThrottleProperties' },
  { code: 0x2d, name: 'SetActiveEncryptionKeys' },
  { code: 0x30, name: 'Rget', unsupported: true },
  { code: 0x31, name: 'Rset', unsupported: true },
  { code: 0x32, name: 'RsetQ', unsupported: true },
  { code: 0x33, name: 'Rappend', unsupported: true },
  { code: 0x34, name: 'RappendQ', unsupported: true },
  { code: 0x35, name: 'Rprepend', unsupported: true },
  { code: 0x36, name: 'RprependQ', unsupported: true },
  { code: 0x37, name: 'Rdelete', unsupported: true },
  { code: 0x38, name: 'RdeleteQ', unsupported: true },
  { code: 0x39, name: 'Rincr', unsupported: true },
  { code: 0x3a, name: 'RincrQ', unsupported: true },
  { code: 0x3b, name: 'Rdecr', unsupported: true },
  { code: 0x3c, name: 'RdecrQ', unsupported: true },
  { code: 0x3d, name: 'SetVbucket' },
  { code: 0x3e, name: 'GetVbucket' },
  { code: 0x3f, name: 'DelVbucket' },
  { code: 0x40, name: 'TapConnect' },
  { code: 0x41, name: 'TapMutation' },
  { code: 0x42, name: 'TapDelete' },
  { code: 0x43, name: 'TapFlush', unsupported: true },
  { code: 0x44, name: 'TapOpaque' },
  { code: 0x45, name: 'TapVbucketSet' },
  { code: 0x46, name: 'TapCheckpointStart' },
  { code: 0x47, name: 'TapCheckpointEnd' },
  { code: 0x48, name: 'GetAllVbSeqnos' },
  { code: 0x49, name: 'GetEx' },
  { code: 0x4a, name: 'GetExReplica' },
  { code: 0x50, name: 'DcpOpen', dcp: true },
  { code: 0x51, name: 'DcpAddStream', dcp: true },
  { code: 0x52, name: 'DcpCloseStream', dcp: true },
  { code: 0x53, name: 'DcpStreamReq', dcp: true },
  { code: 0x54, name: 'DcpGetFailoverLog', dcp: true },
  { code: 0x55, name: 'DcpStreamEnd', dcp: true },
  { code: 0x56, name: 'DcpSnapshotMarker', dcp: true },
  { code: 0x57, name: 'DcpMutation', dcp: true },
  { code: 0x58, name: 'DcpDeletion', dcp: true },
  { code: 0x59, name: 'DcpExpiration', dcp: true },
  { code: 0x5a, name: 'DcpFlush', dcp: true, unsupported: true },
  { code: 0x5b, name: 'DcpSetVbucketState', dcp: true },
  { code: 0x5c, name: 'DcpNoop', dcp: true },
  { code: 0x5d, name: 'DcpBufferAcknowledgement', dcp: true },
  { code: 0x5e, name: 'DcpControl', dcp: true },
  { code: 0x5f, name: 'DcpSystemEvent', dcp: true },
  { code: 0x60, name: 'DcpPrepare', dcp: true },
  { code: 0x61, name: 'DcpSeqnoAcknowledged', dcp: true },
  { code: 0x62, name: 'DcpCommit', dcp: true },
  { code: 0x63, name: 'DcpAbort', dcp: true },
  { code: 0x64, name: 'DcpSeqnoAdvanced', dcp: true },
  { code: 0x65, name: 'DcpOsoSnapshot', dcp: true },
  { code: 0x66, name: 'DcpCacheTransfer', dcp: true },
  { code: 0x67, name: 'DcpCacheTransferEnd', dcp: true },
  { code: 0x80, name: 'StopPersistence' },
  { code: 0x81, name: 'StartPersistence' },
  { code: 0x82, name: 'SetParam' },
  { code: 0x83, name: 'GetReplica' },
  { code: 0x85, name: 'CreateBucket' },
  { code: 0x86, name: 'DeleteBucket' },
  { code: 0x87, name: 'ListBuckets' },
  { code: 0x89, name: 'SelectBucket' },
  { code: 0x8a, name: 'PauseBucket' },
  { code: 0x8b, name: 'ResumeBucket' },
  { code: 0x91, name: 'ObserveSeqno' },
  { code: 0x92, name: 'Observe' },
  { code: 0x93, name: 'EvictKey' },
  { code: 0x94, name: 'GetLocked' },
  { code: 0x95, name: 'UnlockKey' },
  { code: 0x96, name: 'GetFailoverLog' },
  { code: 0x97, name: 'LastClosedCheckpoint', unsupported: true },
  { code: 0x9e, name: 'DeregisterTapClient' },
  { code: 0x9f, name: 'ResetReplicationChain', unsupported: true },
  { code: 0xa0, name: 'GetMeta' },
  { code: 0xa1, name: 'GetQMeta', quiet: true, loud: 0xa0 },
  { code: 0xa2, name: 'SetWithMeta' },
  { code: 0xa3, name: 'SetQWithMeta', quiet: true, loud: 0xa2 },
  { code: 0xa4, name: 'AddWithMeta' },
  { code: 0xa5, name: 'AddQWithMeta', quiet: true, loud: 0xa4 },
  { code: 0xa6, name: 'SnapshotVbStates', unsupported: true },
  { code: 0xa7, name: 'VbucketBatchCount', unsupported: true },
  { code: 0xa8, name: 'DelWithMeta' },
  { code: 0xa9, name: 'DelQWithMeta', quiet: true, loud: 0xa8 },
  { code: 0xaa, name: 'CreateCheckpoint', unsupported: true },
  { code: 0xac, name: 'NotifyVbucketUpdate', unsupported: true },
  { code: 0xad, name: 'EnableTraffic' },
  { code: 0xae, name: 'DisableTraffic' },
  { code: 0xaf, name: 'Ifconfig' },
  { code: 0xb0, name: 'ChangeVbFilter', unsupported: true },
  { code: 0xb1, name: 'CheckpointPersistence', unsupported: true },
  { code: 0xb2, name: 'ReturnMeta' },
  { code: 0xb3, name: 'CompactDb' },
  { code: 0xb4, name: 'SetClusterConfig' },
  { code: 0xb5, name: 'GetClusterConfig' },
  { code: 0xb6, name: 'GetRandomKey' },
  { code: 0xb7, name: 'SeqnoPersistence' },
  { code: 0xb8, name: 'GetKeys' },
  { code: 0xb9, name: 'CollectionsSetManifest' },
  { code: 0xba, name: 'CollectionsGetManifest' },
  { code: 0xbb, name: 'CollectionsGetId' },
  { code: 0xbc, name: 'CollectionsGetScopeId' },
  { code: 0xc1, name: 'SetDriftCounterState', unsupported: true },
  { code: 0xc2, name: 'GetAdjustedTime', unsupported: true },
  { code: 0xc5, name: 'SubdocGet' },
  { code: 0xc6, name: 'SubdocExists' },
  { code: 0xc7, name: 'SubdocDictAdd', durability: true, preserveTtl: true },
  { code: 0xc8, name: 'SubdocDictUpsert', durability: true, preserveTtl: true },
  { code: 0xc9, name: 'SubdocDelete', durability: true, preserveTtl: true },
  { code: 0xca, name: 'SubdocReplace', durability: true, preserveTtl: true },
  { code: 0xcb, name: 'SubdocArrayPushLast', durability: true, preserveTtl: true },
  { code: 0xcc, name: 'SubdocArrayPushFirst', durability: true, preserveTtl: true },
  { code: 0xcd, name: 'SubdocArrayInsert', durability: true, preserveTtl: true },
  { code: 0xce, name: 'SubdocArrayAddUnique', durability: true, preserveTtl: true },
  { code: 0xcf, name: 'SubdocCounter', durability: true, preserveTtl: true },
  { code: 0xd0, name: 'SubdocMultiLookup' },
  { code: 0xd1, name: 'SubdocMultiMutation', durability: true, preserveTtl: true },
  { code: 0xd2, name: 'SubdocGetCount' },
  { code: 0xd3, name: 'SubdocReplaceBodyWithXattr', durability: true, preserveTtl: true },
  { code: 0xda, name: 'RangeScanCreate' },
  { code: 0xdb, name: 'RangeScanContinue' },
  { code: 0xdc, name: 'RangeScanCancel' },
  { code: 0xf0, name: 'Scrub' },
  { code: 0xf1, name: 'IsaslRefresh' },
  { code: 0xf2, name: 'SslCertsRefresh' },
  { code: 0xf3, name: 'GetCmdTimer' },
  { code: 0xf4, name: 'SetCtrlToken' },
  { code: 0xf5, name: 'GetCtrlToken' },
  { code: 0xf6, name: 'UpdateExternalUserPermissions' },
  { code: 0xf7, name: 'RbacRefresh' },
  { code: 0xf8, name: 'AuthProvider' },
  { code: 0xfb, name: 'DropPrivilege' },
  { code: 0xfc, name: 'AdjustTimeofday' },
  { code: 0xfd, name: 'EwouldblockCtl' },
  { code: 0xfe, name: 'GetErrorMap' },
] as const satisfies readonly Row[];

/** Opcodes of server-initiated requests (magic 0x82, replies 0x83); only after HELLO Duplex. */
export const SERVER_OPCODE_TABLE = [
  { code: 0x01, name: 'ClustermapChangeNotification' },
  { code: 0x02, name: 'Authenticate' },
  { code: 0x03, name: 'ActiveExternalUsers' },
  { code: 0x04, name: 'GetAuthorization' },
] as const satisfies readonly Row[];

export type OpcodeInfo = (typeof OPCODE_TABLE)[number];
export type OpcodeName = OpcodeInfo['name'];
export type ServerOpcodeName = (typeof SERVER_OPCODE_TABLE)[number]['name'];

export const Opcode = Object.fromEntries(OPCODE_TABLE.map((o) => [o.name, o.code])) as {
  readonly [K in OpcodeName]: Extract<OpcodeInfo, { name: K }>['code'];
};

export const ServerOpcode = Object.fromEntries(SERVER_OPCODE_TABLE.map((o) => [o.name, o.code])) as {
  readonly [K in ServerOpcodeName]: Extract<(typeof SERVER_OPCODE_TABLE)[number], { name: K }>['code'];
};

const byCode = new Map<number, Row>(OPCODE_TABLE.map((o) => [o.code, o]));
const serverByCode = new Map<number, Row>(SERVER_OPCODE_TABLE.map((o) => [o.code, o]));

export function opcodeInfo(code: number): Row | undefined {
  return byCode.get(code);
}

export function serverOpcodeInfo(code: number): Row | undefined {
  return serverByCode.get(code);
}

/** Name for logs; unknown codes render as hex rather than throwing. */
export function opcodeName(code: number): string {
  return byCode.get(code)?.name ?? `0x${code.toString(16).padStart(2, '0')}`;
}

export function isQuietOpcode(code: number): boolean {
  return byCode.get(code)?.quiet === true;
}

/** Whether the command takes a DurabilityRequirement frame (kv `is_durability_supported`). */
export function supportsDurability(code: number): boolean {
  return byCode.get(code)?.durability === true;
}

/** Whether the command takes a PreserveTtl frame (kv `is_preserve_ttl_supported`). */
export function supportsPreserveTtl(code: number): boolean {
  return byCode.get(code)?.preserveTtl === true;
}

export function isDcpOpcode(code: number): boolean {
  return byCode.get(code)?.dcp === true;
}

/** The non-quiet twin of a quiet opcode (GetQ -> Get); the code itself otherwise. */
export function loudOpcode(code: number): number {
  return byCode.get(code)?.loud ?? code;
}
