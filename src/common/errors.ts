/**
 * The one error base of Freshet and the registry of its error codes.
 *
 * Every error class in src/ extends `FreshetError` (directly or through its domain's class), so a
 * caller can branch on one stable `code` whatever layer threw, as Node (`ERR_INVALID_ARG_TYPE`)
 * and undici (`UND_ERR_CONNECT_TIMEOUT`) let their callers do. The scheme is `DOMAIN_KIND` in
 * upper case: the domain prefix names the layer that owns the code (`ENGINE_KEY_ENOENT`,
 * `COUCH_NOT_FOUND`, `KVCLIENT_TIMEOUT`), the kind is the key of that domain's own table. A domain
 * class keeps the short key as `kind` where its own logic branches on it; `code` always means the
 * prefixed code. `message` is for people and may change; `code` may not.
 *
 * Each domain registers its codes with a one-line description from one home file (its errors.ts);
 * test/common/errors.test.ts checks that codes are unique, follow the scheme and are documented
 * (README "Errors" lists each prefix and its home). This module imports nothing, so every layer,
 * the codec included, can build on it.
 */

export interface FreshetErrorOptions {
  /** True when the same request may succeed later (a full disk, a timeout, a lost connection). */
  readonly retriable?: boolean;
  /** The underlying failure (ES2022 `Error.cause`). */
  readonly cause?: unknown;
}

export abstract class FreshetError<C extends string = string> extends Error {
  /** `DOMAIN_KIND`, stable: branch on this, never on `message`. */
  readonly code: C;
  readonly retriable: boolean;

  constructor(code: C, message: string, options: FreshetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export function isFreshetError(err: unknown): err is FreshetError {
  return err instanceof FreshetError;
}

/** The code scheme: an upper-case domain prefix, `_`, an upper-case kind (`A-Z`, digits, `_`). */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9]*_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;

/** The code of a domain's kind: `errorCode('COUCH', 'not_found')` is `COUCH_NOT_FOUND`. */
export function errorCode<P extends string, K extends string>(prefix: P, kind: K): `${P}_${Uppercase<K>}` {
  return `${prefix}_${kind.toUpperCase() as Uppercase<K>}`;
}

export interface RegisteredErrorCode {
  readonly code: string;
  readonly prefix: string;
  readonly kind: string;
  /** The source file holding the domain's table (repository-relative). */
  readonly home: string;
  readonly description: string;
}

const registry: RegisteredErrorCode[] = [];

/**
 * Register a domain's codes: `descriptions` maps each kind of the domain's table to a one-line
 * description. Called once, at module load, by the domain's home file. Duplicates are kept (not
 * thrown at load time) so that the test can report them all.
 */
export function registerErrorCodes(prefix: string, home: string, descriptions: Readonly<Record<string, string>>): void {
  for (const [kind, description] of Object.entries(descriptions)) {
    registry.push({ code: errorCode(prefix, kind), prefix, kind, home, description });
  }
}

/** Every code registered so far (by the modules loaded so far). */
export function registeredErrorCodes(): readonly RegisteredErrorCode[] {
  return registry;
}
