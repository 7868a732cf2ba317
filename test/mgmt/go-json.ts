/**
 * A small model of Go's encoding/json decoding rules, so tests can check that a JSON document
 * would decode into the structs gocbcore and go-couchbase declare (a type mismatch is a decode
 * error there, which makes cbdatasource or gocbcore reject the whole config).
 *
 * Rules modelled: keys match field names case-insensitively; unknown keys are ignored; missing
 * keys leave zero values; JSON null is accepted for anything; a `,string` int must be a string
 * holding an integer; uintN/intN must be integers in range.
 */

export type GoType =
  | 'string'
  | 'bool'
  | 'float64'
  | 'int'
  | 'int64'
  | 'uint16'
  | 'intString' // `json:",string"` on an int field
  | 'any'
  | { readonly slice: GoType }
  | { readonly map: GoType }
  | { readonly struct: Readonly<Record<string, GoType>> };

export function goDecodeErrors(value: unknown, type: GoType, path = '$'): string[] {
  if (value === null) return [];
  if (type === 'any') return [];
  if (type === 'string') return typeof value === 'string' ? [] : [`${path}: want string`];
  if (type === 'bool') return typeof value === 'boolean' ? [] : [`${path}: want bool`];
  if (type === 'float64') return typeof value === 'number' ? [] : [`${path}: want number`];
  if (type === 'int' || type === 'int64') {
    return typeof value === 'number' && Number.isInteger(value) ? [] : [`${path}: want integer`];
  }
  if (type === 'uint16') {
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff
      ? []
      : [`${path}: want uint16`];
  }
  if (type === 'intString') {
    return typeof value === 'string' && /^-?\d+$/.test(value) ? [] : [`${path}: want ",string" integer`];
  }
  if ('slice' in type) {
    if (!Array.isArray(value)) return [`${path}: want array`];
    return value.flatMap((v, i) => goDecodeErrors(v, type.slice, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: want object`];
  const obj = value as Record<string, unknown>;
  if ('map' in type) return Object.entries(obj).flatMap(([k, v]) => goDecodeErrors(v, type.map, `${path}.${k}`));
  const fields = Object.entries(type.struct);
  return Object.entries(obj).flatMap(([k, v]) => {
    const field = fields.find(([name]) => name.toLowerCase() === k.toLowerCase());
    return field === undefined ? [] : goDecodeErrors(v, field[1], `${path}.${k}`);
  });
}

const servicesFields = ['kv', 'capi', 'mgmt', 'n1ql', 'fts', 'cbas', 'eventingAdminPort', 'indexHttp', 'backupAPI',
  'kvSSL', 'capiSSL', 'mgmtSSL', 'n1qlSSL', 'ftsSSL', 'cbasSSL', 'eventingSSL', 'indexHttps', 'backupAPIHTTPS'];

/** gocbcore config.go */
export const GOCBCORE_CFG_BUCKET: GoType = {
  struct: {
    rev: 'int64',
    revEpoch: 'int64',
    bucketCapabilities: { slice: 'string' },
    bucketCapabilitiesVer: 'string',
    name: 'string',
    nodeLocator: 'string',
    uri: 'string',
    streamingUri: 'string',
    uuid: 'string',
    ddocs: { struct: { uri: 'string' } },
    vBucketServerMap: {
      struct: { hashAlgorithm: 'string', numReplicas: 'int', serverList: { slice: 'string' }, vBucketMap: { slice: { slice: 'int' } } },
    },
    nodes: {
      slice: {
        struct: {
          clusterCompatibility: 'int', clusterMembership: 'string', couchApiBase: 'string', hostname: 'string',
          interestingStats: { map: 'float64' }, mcdMemoryAllocated: 'float64', mcdMemoryReserved: 'float64',
          memoryFree: 'float64', memoryTotal: 'float64', os: 'string', ports: { map: 'int' }, status: 'string',
          uptime: 'intString', version: 'string', thisNode: 'bool',
        },
      },
    },
    nodesExt: {
      slice: {
        struct: {
          services: { struct: Object.fromEntries(servicesFields.map((f) => [f, 'uint16' as const])) },
          hostname: 'string',
          thisNode: 'bool',
          alternateAddresses: 'any',
        },
      },
    },
    clusterCapabilitiesVer: { slice: 'int' },
    clusterCapabilities: { map: { slice: 'string' } },
  },
};

/** go-couchbase pools.go */
export const GO_COUCHBASE_NODE: GoType = {
  struct: {
    clusterCompatibility: 'int', clusterMembership: 'string', couchApiBase: 'string', hostname: 'string',
    interestingStats: { map: 'float64' }, mcdMemoryAllocated: 'float64', mcdMemoryReserved: 'float64',
    memoryFree: 'float64', memoryTotal: 'float64', os: 'string', ports: { map: 'int' },
    services: { slice: 'string' }, status: 'string', uptime: 'intString', version: 'string', thisNode: 'bool',
  },
};

export const GO_COUCHBASE_POOLS: GoType = {
  struct: {
    componentsVersion: { map: 'string' },
    implementationVersion: 'string',
    isAdminCreds: 'bool',
    uuid: 'string',
    pools: { slice: { struct: { name: 'string', streamingUri: 'string', uri: 'string' } } },
  },
};

/** `Pool` has untagged fields BucketMap and Nodes, plus `BucketURL map[string]string json:"buckets"`. */
export const GO_COUCHBASE_POOL: GoType = {
  struct: { BucketMap: { map: 'any' }, Nodes: { slice: GO_COUCHBASE_NODE }, buckets: { map: 'string' } },
};

export const GO_COUCHBASE_BUCKET: GoType = {
  struct: {
    authType: 'string', bucketCapabilities: { slice: 'string' }, bucketCapabilitiesVer: 'string', bucketType: 'string',
    name: 'string', nodeLocator: 'string', quota: { map: 'float64' }, replicaNumber: 'int', saslPassword: 'string',
    uri: 'string', streamingUri: 'string', localRandomKeyUri: 'string', uuid: 'string', conflictResolutionType: 'string',
    ddocs: { struct: { uri: 'string' } }, basicStats: { map: 'any' }, controllers: { map: 'any' },
    vBucketServerMap: {
      struct: { hashAlgorithm: 'string', numReplicas: 'int', serverList: { slice: 'string' }, vBucketMap: { slice: { slice: 'int' } } },
    },
    nodes: { slice: GO_COUCHBASE_NODE },
  },
};

export const GO_COUCHBASE_POOL_SERVICES: GoType = {
  struct: {
    rev: 'int',
    nodesExt: { slice: { struct: { services: { map: 'int' }, hostname: 'string', thisNode: 'bool' } } },
  },
};
