/**
 * HELLO (0x1f) feature codes, sent and echoed as big-endian u16 lists in the value.
 * Source: kv include/mcbp/protocol/feature.h, docs/BinaryProtocol.md "0x1f HELO";
 * codes above 0x1c from dcp.md §2.2 (kv at eba42989) and couchbase-sdk-bootstrap.md §2.1.
 *
 * `informational` features change nothing on the server; the reply only tells the
 * client the server supports something. `retired` codes are ignored by current servers
 * (never echoed), so a client must not depend on them.
 */

interface FeatureRow {
  readonly code: number;
  readonly name: string;
  readonly informational?: boolean;
  readonly retired?: boolean;
}

export const FEATURE_TABLE = [
  { code: 0x01, name: 'Datatype', retired: true },
  { code: 0x02, name: 'Tls', retired: true },
  { code: 0x03, name: 'TcpNoDelay', informational: true },
  { code: 0x04, name: 'MutationSeqno' },
  { code: 0x05, name: 'TcpDelay', retired: true },
  { code: 0x06, name: 'Xattr' },
  { code: 0x07, name: 'Xerror' },
  { code: 0x08, name: 'SelectBucket', informational: true },
  { code: 0x09, name: 'CollectionsPrototype', retired: true },
  { code: 0x0a, name: 'Snappy' },
  { code: 0x0b, name: 'Json' },
  { code: 0x0c, name: 'Duplex' },
  { code: 0x0d, name: 'ClustermapChangeNotification' },
  { code: 0x0e, name: 'UnorderedExecution' },
  { code: 0x0f, name: 'Tracing' },
  { code: 0x10, name: 'AltRequestSupport', informational: true },
  { code: 0x11, name: 'SyncReplication', informational: true },
  { code: 0x12, name: 'Collections' },
  { code: 0x13, name: 'SnappyEverywhere' },
  { code: 0x14, name: 'PreserveTtl', informational: true },
  { code: 0x15, name: 'VAttr', informational: true },
  { code: 0x16, name: 'PiTR', retired: true },
  { code: 0x17, name: 'SubdocCreateAsDeleted' },
  { code: 0x18, name: 'SubdocDocumentMacroSupport' },
  { code: 0x19, name: 'SubdocReplaceBodyWithXattr' },
  { code: 0x1a, name: 'ReportUnitUsage' },
  { code: 0x1b, name: 'NonBlockingThrottlingMode' },
  { code: 0x1c, name: 'SubdocReplicaRead' },
  { code: 0x1d, name: 'GetClusterConfigWithKnownVersion' },
  { code: 0x1e, name: 'DedupeNotMyVbucketClustermap' },
  { code: 0x1f, name: 'ClustermapChangeNotificationBrief' },
  { code: 0x20, name: 'SubdocAllowsAccessOnMultipleXattrKeys' },
  { code: 0x21, name: 'SubdocBinaryXattr' },
  { code: 0x22, name: 'RangeScanIncludeXattr' },
  { code: 0x23, name: 'SubdocAllowReplicaReadOnDeletedDocs' },
  { code: 0x24, name: 'GetRandomKeyIncludeXattr' },
  { code: 0x25, name: 'MutateWithMeta' },
  { code: 0x26, name: 'DcpSkipDeletesInInitialBackfill', informational: true },
] as const satisfies readonly FeatureRow[];

export type FeatureInfo = (typeof FEATURE_TABLE)[number];
export type FeatureName = FeatureInfo['name'];

export const Feature = Object.fromEntries(FEATURE_TABLE.map((f) => [f.name, f.code])) as {
  readonly [K in FeatureName]: Extract<FeatureInfo, { name: K }>['code'];
};

const byCode = new Map<number, FeatureRow>(FEATURE_TABLE.map((f) => [f.code, f]));

export function featureInfo(code: number): FeatureRow | undefined {
  return byCode.get(code);
}

export function featureName(code: number): string {
  return byCode.get(code)?.name ?? `0x${code.toString(16).padStart(4, '0')}`;
}
