/**
 * Roles a bucket user can hold, and what they grant: the subset of ns_server's RBAC roles
 * (menelaus_roles.erl `roles()`) that Freshet represents, with kv_engine's privilege model
 * (kv_engine docs/rbac.md) underneath.
 *
 * - `bucket_full_access[b]`: every data privilege on every scope and collection of `b`;
 * - `data_reader[b(:s(:c))]`: Read, MetaRead and XattrRead (ns_server: data docs/meta/xattr read);
 * - `data_writer[b(:s(:c))]`: Insert, Upsert, Delete and XattrWrite (data docs insert/upsert/delete,
 *   xattr write). A writer cannot read, exactly as in Couchbase.
 * A collection role scoped to `b:s` covers every collection of scope `s`; `b:s:c` one collection.
 *
 * Grants keep the scope and collection ids they were given for, as ns_server keeps them in role
 * parameters: ids are never reused (engine/manifest.ts), so a scope or collection dropped and
 * created again under the same name is not covered by an old grant.
 *
 * `BucketAccess` is what a connection checks per request: the grants on one bucket compiled to
 * privilege bit masks, and kv_engine's three outcomes (`PrivilegeContext::check`): Ok; Fail (the
 * user holds privileges on the collection, but not this one: NoAccess); FailNoPrivileges (none at
 * all there: the collection is invisible, and KV answers UnknownCollection).
 */

/** kv_engine privileges (cb::rbac::Privilege) that Freshet checks, as bits. */
export const Privilege = {
  Read: 1 << 0,
  Insert: 1 << 1,
  Upsert: 1 << 2,
  Delete: 1 << 3,
  MetaRead: 1 << 4,
  MetaWrite: 1 << 5,
  XattrRead: 1 << 6,
  XattrWrite: 1 << 7,
  DcpProducer: 1 << 8,
  // System xattrs (`_...`): only full access to the bucket holds them (the administrator and
  // bucket_full_access), or a request an impersonator granted them to (kv/frames.ts).
  SystemXattrRead: 1 << 9,
  SystemXattrWrite: 1 << 10,
} as const;

export type PrivilegeName = keyof typeof Privilege;

const ALL_PRIVILEGES = Object.values(Privilege).reduce((a, b) => a | b, 0);

export const ROLE_DEFINITIONS = {
  bucket_full_access: { params: 'bucket', privileges: ALL_PRIVILEGES },
  data_reader: { params: 'collection', privileges: Privilege.Read | Privilege.MetaRead | Privilege.XattrRead },
  data_writer: { params: 'collection', privileges: Privilege.Insert | Privilege.Upsert | Privilege.Delete | Privilege.XattrWrite },
} as const satisfies Record<string, { params: 'bucket' | 'collection'; privileges: number }>;

export type BucketRoleName = keyof typeof ROLE_DEFINITIONS;

export function isBucketRoleName(name: string): name is BucketRoleName {
  return Object.hasOwn(ROLE_DEFINITIONS, name);
}

/** A scope or collection as named when the role was given, with its id then. */
export interface GrantTarget {
  readonly name: string;
  readonly id: number;
}

/** One role on one bucket (and optionally one scope, and optionally one collection of it). */
export interface RoleGrant {
  readonly role: BucketRoleName;
  readonly bucket: string;
  readonly scope?: GrantTarget;
  /** Only with `scope`. */
  readonly collection?: GrantTarget;
}

/** ns_server's role syntax: `data_reader[b:s:c]`, `bucket_full_access[b]`. */
export function formatGrant(g: RoleGrant): string {
  const params = [g.bucket, g.scope?.name, g.collection?.name].filter((p) => p !== undefined);
  return `${g.role}[${params.join(':')}]`;
}

/** A role item split into its name and parameters, or undefined when it is not of the syntax. */
export function splitRoleItem(item: string): { role: string; params: string[] | undefined } | undefined {
  const m = /^([a-z_]+)(?:\[([^\]]*)\])?$/.exec(item);
  if (m === null) return undefined;
  // The SDKs path-escape each parameter (couchbase-cxx-client user_upsert.cxx); undo it where it
  // decodes, and keep the text as given where it does not (a literal '%' in a name).
  const decode = (p: string): string => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  };
  return { role: m[1]!, params: m[2] === undefined ? undefined : m[2].split(':').map(decode) };
}

export type AccessVerdict = 'ok' | 'fail' | 'no-privileges';

interface CompiledGrant {
  readonly mask: number;
  readonly scopeId: number | undefined;
  readonly collectionId: number | undefined;
}

/** One user's privileges on one bucket, compiled for per-request checks. */
export class BucketAccess {
  static readonly FULL = new BucketAccess([{ mask: ALL_PRIVILEGES, scopeId: undefined, collectionId: undefined }]);
  static readonly NONE = new BucketAccess([]);

  /** Every privilege on every collection (the administrator, bucket_full_access). */
  readonly full: boolean;
  /** Some privilege somewhere in the bucket: enough to select it. */
  readonly any: boolean;
  /** Privileges held on the whole bucket (kv_engine's bucket-level check, no scope or collection). */
  readonly bucketMask: number;
  readonly #grants: readonly CompiledGrant[];

  private constructor(grants: readonly CompiledGrant[]) {
    this.#grants = grants;
    this.bucketMask = grants.filter((g) => g.scopeId === undefined).reduce((m, g) => m | g.mask, 0);
    this.full = this.bucketMask === ALL_PRIVILEGES;
    this.any = grants.some((g) => g.mask !== 0);
  }

  /** The access `grants` give on `bucket` (grants on other buckets are ignored). */
  static of(bucket: string, grants: readonly RoleGrant[]): BucketAccess {
    const mine = grants.filter((g) => g.bucket === bucket);
    if (mine.length === 0) return BucketAccess.NONE;
    if (mine.some((g) => ROLE_DEFINITIONS[g.role].params === 'bucket')) return BucketAccess.FULL;
    return new BucketAccess(
      mine.map((g) => ({ mask: ROLE_DEFINITIONS[g.role].privileges, scopeId: g.scope?.id, collectionId: g.collection?.id })),
    );
  }

  /**
   * This access plus `extra` on every collection: an impersonated user's rights with the privileges
   * the impersonator granted on top (kv_engine `Cookie::testPrivilege`: an extra privilege is Ok
   * wherever it is checked).
   */
  withExtra(extra: number): BucketAccess {
    if (extra === 0 || this.full) return this;
    return new BucketAccess([...this.#grants, { mask: extra, scopeId: undefined, collectionId: undefined }]);
  }

  /** The privileges held on collection `collectionId` of scope `scopeId`. */
  mask(scopeId: number, collectionId: number): number {
    let mask = 0;
    for (const g of this.#grants) {
      if ((g.scopeId === undefined || g.scopeId === scopeId) && (g.collectionId === undefined || g.collectionId === collectionId)) mask |= g.mask;
    }
    return mask;
  }

  /**
   * `required` on a collection: all of its bits, or with `anyOf` at least one of them (kv_engine's
   * Add: Insert or Upsert).
   */
  check(required: number, scopeId: number, collectionId: number, anyOf = false): AccessVerdict {
    if (this.full) return 'ok';
    const held = this.mask(scopeId, collectionId);
    if (held === 0) return 'no-privileges';
    const ok = anyOf ? (held & required) !== 0 : (held & required) === required;
    return ok ? 'ok' : 'fail';
  }
}
