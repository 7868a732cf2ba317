/**
 * The CouchDB face's configuration (`/_node/{node}/_config`, CouchDB api/server/configuration.rst):
 * sections of string keys and string values, as CouchDB keeps them, with Freshet's defaults below
 * and the changes an admin made (`PUT`/`DELETE`) persisted through `save` (the server keeps them
 * in the engine's system database) so they survive a restart.
 *
 * Readers: `get(section, key)` / `int(...)` at the moment of use, so a change applies to the next
 * request; `onChange` for settings with a live effect (the log level). The design-function sandbox
 * reads `[query_server_config] os_process_timeout` (ms) and `memory_limit_bytes` through `get`,
 * view queries `reduce_limit` (src/views/reduce-limit.ts), attachment writes `[attachments]
 * compression_level` and `compressible_types` (attachmentCompressionOf, couch/att-encoding.ts).
 * `[cors]` and `[chttpd] enable_cors` are the CORS settings' own (src/http/cors.ts), not kept here.
 */

import { DEFAULT_COMPRESSIBLE_TYPES, DEFAULT_COMPRESSION_LEVEL, type AttachmentCompression } from '../couch/att-encoding.js';

export type ConfigSections = Record<string, Record<string, string>>;

/**
 * Values CouchDB 3 ships in default.ini for the keys Freshet reads or reports. Keys that take
 * effect in Freshet: couchdb/{default_security,max_partition_size}, chttpd_auth/{iterations,pbkdf2_prf,public_fields},
 * log/level, query_server_config/*, uuids/*, attachments/*. The others are reported and may be
 * set, without effect.
 */
export const CONFIG_DEFAULTS: Readonly<ConfigSections> = {
  attachments: {
    compression_level: String(DEFAULT_COMPRESSION_LEVEL),
    compressible_types: DEFAULT_COMPRESSIBLE_TYPES,
  },
  couchdb: {
    default_security: 'admin_only',
    max_document_size: '20971520',
    os_process_timeout: '5000',
    single_node: 'true',
    users_db_suffix: '_users',
  },
  chttpd: {
    bind_address: '127.0.0.1',
    decode_plus_to_space: 'true',
    require_valid_user: 'false',
    max_http_request_size: '67108864',
  },
  chttpd_auth: {
    authentication_db: '_users',
    iterations: '50000',
    pbkdf2_prf: 'sha256',
    public_fields: '',
    timeout: '600',
  },
  log: { level: 'info', writer: 'stderr' },
  uuids: { algorithm: 'sequential', max_count: '1000' },
  replicator: {
    checkpoint_interval: '30000',
    connection_timeout: '30000',
    http_connections: '20',
    retries_per_request: '5',
    worker_batch_size: '500',
    worker_processes: '4',
  },
  query_server_config: {
    os_process_timeout: '5000',
    memory_limit_bytes: '67108864',
    reduce_limit: 'true',
  },
};

export interface CouchConfigStore {
  /** The overrides as last saved (validated here: they come from disk). */
  load(): unknown;
  save(overrides: ConfigSections): Promise<void>;
}

/** Marks a deleted key in the overrides (a default deleted stays deleted); no real value is NUL. */
const DELETED = '\u0000deleted';

export type ConfigListener = (section: string, key: string, value: string | undefined) => void;

/** Section and key names: CouchDB takes any; Freshet keeps them to a plain, safe alphabet. */
/** Section and key names: CouchDB's ini allows more, e.g. `[jwt_keys] hmac:_default`, `[feature_flags] partitioned||*`. */
const NAME = /^[A-Za-z0-9_.:|*@+-]{1,128}$/;

export function isConfigName(name: string): boolean {
  return NAME.test(name);
}

function parseOverrides(raw: unknown): ConfigSections {
  const out: ConfigSections = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [section, keys] of Object.entries(raw)) {
    if (!isConfigName(section) || typeof keys !== 'object' || keys === null) continue;
    const entries = Object.entries(keys as Record<string, unknown>).filter(([k, v]) => isConfigName(k) && typeof v === 'string');
    if (entries.length > 0) out[section] = Object.fromEntries(entries) as Record<string, string>;
  }
  return out;
}

export class CouchConfig {
  /** What admins set; a deleted key is `DELETED`, so `get` does not fall back to its default. */
  #overrides: ConfigSections;
  readonly #listeners = new Set<ConfigListener>();
  #writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: CouchConfigStore) {
    this.#overrides = parseOverrides(store.load());
  }

  /** The value in effect: set by an admin, else the default; undefined when neither. */
  get(section: string, key: string): string | undefined {
    const own = this.#overrides[section];
    if (own && Object.hasOwn(own, key)) return own[key] === DELETED ? undefined : own[key];
    const dflt = CONFIG_DEFAULTS[section];
    return dflt && Object.hasOwn(dflt, key) ? dflt[key] : undefined;
  }

  /**
   * A `[chttpd]` setting, else the same key of `[httpd]`, where CouchDB 1.x and 2.x kept it
   * (chttpd_util:get_chttpd_config/1): CouchDB's own tests still set `[httpd] x_forwarded_host`.
   */
  chttpd(key: string): string | undefined {
    return this.get('chttpd', key) ?? this.get('httpd', key);
  }

  /** A `[chttpd_auth]` setting, else `[couch_httpd_auth]` (chttpd_util:get_chttpd_auth_config/1). */
  chttpdAuth(key: string): string | undefined {
    return this.get('chttpd_auth', key) ?? this.get('couch_httpd_auth', key);
  }

  /** Whether an admin set (or deleted) the key, as opposed to its default being in effect. */
  isSet(section: string, key: string): boolean {
    return Object.hasOwn(this.#overrides[section] ?? {}, key);
  }

  /** A non-negative integer setting, `fallback` when unset or not an integer. */
  int(section: string, key: string, fallback: number): number {
    const v = this.get(section, key);
    if (v === undefined || !/^\d+$/.test(v.trim())) return fallback;
    const n = Number(v.trim());
    return Number.isSafeInteger(n) ? n : fallback;
  }

  section(section: string): Record<string, string> {
    const out: Record<string, string> = { ...CONFIG_DEFAULTS[section] };
    for (const [k, v] of Object.entries(this.#overrides[section] ?? {})) {
      if (v === DELETED) delete out[k];
      else out[k] = v;
    }
    return out;
  }

  sections(): string[] {
    return [...new Set([...Object.keys(CONFIG_DEFAULTS), ...Object.keys(this.#overrides)])]
      .filter((s) => Object.keys(this.section(s)).length > 0)
      .sort();
  }

  onChange(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Set a key; resolves to the previous value (CouchDB answers it) once saved. */
  set(section: string, key: string, value: string): Promise<string | undefined> {
    return this.#change(section, key, value);
  }

  /** Remove a key; resolves to the removed value, undefined when there was none. */
  delete(section: string, key: string): Promise<string | undefined> {
    return this.#change(section, key, DELETED);
  }

  /** Changes apply one at a time, each after the previous one was saved; a failed save changes nothing. */
  #change(section: string, key: string, value: string): Promise<string | undefined> {
    const run = async (): Promise<string | undefined> => {
      const old = this.get(section, key);
      const next: ConfigSections = { ...this.#overrides, [section]: { ...this.#overrides[section], [key]: value } };
      await this.store.save(next);
      this.#overrides = next;
      const now = value === DELETED ? undefined : value;
      for (const l of this.#listeners) l(section, key, now);
      return old;
    };
    const result = this.#writes.then(run, run);
    this.#writes = result.catch(() => undefined);
    return result;
  }
}

/**
 * The `[attachments]` settings an attachment write applies (couch_db:with_stream/3 reads them per
 * write): `compression_level` (default 8; 0, or any value outside 1..9, stores identity) and
 * `compressible_types` (unset: the default list, as compressible_att_type/1 falls back to
 * ?DEFAULT_COMPRESSIBLE_TYPES; set to "" for none).
 */
export function attachmentCompressionOf(config: CouchConfig): AttachmentCompression {
  return {
    level: config.int('attachments', 'compression_level', DEFAULT_COMPRESSION_LEVEL),
    types: config.get('attachments', 'compressible_types') ?? DEFAULT_COMPRESSIBLE_TYPES,
  };
}
