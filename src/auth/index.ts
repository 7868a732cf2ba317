/** Public surface of the auth module: SASL (SCRAM, PLAIN), HTTP Basic, the user registry, roles and the login throttle. */

export { AUTH_ERRORS, AuthError, isAuthError, type AuthErrorCode, type AuthErrorKind } from './errors.js';
export { SASL_MECHANISMS, findSaslMechanism, saslMechanismList, type SaslMechanism, type SaslMechanismName } from './mechanisms.js';
export {
  SCRAM_HASHES,
  SCRAM_HASH_ORDER,
  deriveScramCredentials,
  scramHashForMechanism,
  type ScramCredentials,
  type ScramHash,
  type ScramMechanism,
} from './scram-crypto.js';
export {
  DEFAULT_SCRAM_ITERATIONS,
  INITIAL_SCRAM_SERVER_STATE,
  ScramServerSession,
  scramServerStep,
  type ScramFailureCode,
  type ScramServerContext,
  type ScramServerReply,
  type ScramServerState,
  type ScramServerTransition,
} from './scram.js';
export {
  ScramClient,
  scramClientFinal,
  scramClientFirst,
  scramClientVerify,
  type ScramClientOptions,
  type ScramClientState,
} from './scram-client.js';
export { PLAIN_MECHANISM, authenticatePlain, encodePlain, parsePlain, type PasswordVerifier, type PlainCredentials } from './plain.js';
export { formatBasicAuth, parseBasicAuth, type BasicCredentials } from './basic.js';
export {
  DEFAULT_PASSWORD_ITERATIONS,
  createUserRecord,
  grantsOf,
  hashPassword,
  parseUserRecord,
  verifyPasswordHash,
  type HashingOptions,
  type PasswordHash,
  type StoredScramSecret,
  type UserRecord,
  type UserRole,
} from './user-records.js';
export { UserRegistry, type GrantSpec, type UserRegistryOptions, type UserSummary } from './credentials.js';
export {
  BucketAccess,
  Privilege,
  ROLE_DEFINITIONS,
  formatGrant,
  isBucketRoleName,
  splitRoleItem,
  type AccessVerdict,
  type BucketRoleName,
  type GrantTarget,
  type PrivilegeName,
  type RoleGrant,
} from './roles.js';
export {
  AuthThrottle,
  DEFAULT_AUTH_THROTTLE,
  clientAddress,
  type AuthThrottleConfig,
  type AuthThrottleOptions,
  type AuthThrottleStats,
} from './throttle.js';
