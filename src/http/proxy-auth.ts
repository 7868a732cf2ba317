/**
 * Which authentication handlers run, and the proxy one (CouchDB api/server/authn.rst "Proxy
 * Authentication", couch_httpd_auth:proxy_authentication_handler/1).
 *
 * `[chttpd] authentication_handlers` lists them in order, as CouchDB's ini does:
 * `{chttpd_auth, cookie_authentication_handler}, {chttpd_auth, proxy_authentication_handler},
 * {chttpd_auth, default_authentication_handler}` (`couch_httpd_auth` names the same functions).
 * Freshet runs `cookie`, `proxy`, `jwt` (jwt-auth.ts) and `default` (Basic); others are skipped. Unset: cookie,
 * then default, CouchDB 3's default.
 *
 * The proxy handler trusts a front end that has authenticated the user: `X-Auth-CouchDB-UserName`
 * names them, `X-Auth-CouchDB-Roles` gives their roles (comma-separated), and with `[chttpd_auth]
 * proxy_use_secret = true`, `X-Auth-CouchDB-Token` must be the hex HMAC of the name keyed with
 * `[chttpd_auth] secret`, in one of `[chttpd_auth] hash_algorithms` (default `sha256, sha`, as
 * CouchDB 3.3+ accepts since apache/couchdb#4438). The header names are `[chttpd_auth]
 * x_auth_username`, `x_auth_roles`, `x_auth_token`. A missing or wrong token, or no name, leaves
 * the request to the next handler. One difference: with `proxy_use_secret` and no `secret`
 * configured, CouchDB trusts every name; Freshet trusts none (its cookie secret is its own, not a
 * `_config` key a proxy could share).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CouchConfig } from '../couchdb/config.js';
import type { UserCtx } from './request.js';

export type AuthHandler = 'cookie' | 'proxy' | 'jwt' | 'default';

const DEFAULT_HANDLERS: readonly AuthHandler[] = ['cookie', 'default'];

/** `{module, name_authentication_handler}` entries; the handler is the name's first word (chttpd auth_handler_name). */
const HANDLER_SPEC = /\{\s*(?:chttpd_auth|couch_httpd_auth)\s*,\s*([a-z]+)_authentication_handler\s*\}/g;

/** The handlers a setting names, in order, those Freshet runs only. */
export function parseAuthHandlers(setting: string): AuthHandler[] {
  const out: AuthHandler[] = [];
  for (const m of setting.matchAll(HANDLER_SPEC)) {
    const name = m[1];
    if ((name === 'cookie' || name === 'proxy' || name === 'jwt' || name === 'default') && !out.includes(name)) out.push(name);
  }
  return out;
}

/** The handlers in effect (`[chttpd]`, else `[httpd]`, authentication_handlers). */
export function authHandlers(config: CouchConfig): readonly AuthHandler[] {
  const setting = config.chttpd('authentication_handlers');
  return setting === undefined ? DEFAULT_HANDLERS : parseAuthHandlers(setting);
}

/** `[chttpd_auth] hash_algorithms` names (Erlang's) to node's digests. */
const HMACS: Readonly<Record<string, string>> = { sha: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

function tokenMatches(config: CouchConfig, secret: string, name: string, token: string): boolean {
  const given = Buffer.from(token, 'utf8');
  const algorithms = (config.chttpdAuth('hash_algorithms') ?? 'sha256, sha').split(',').map((a) => a.trim());
  return algorithms.some((algorithm) => {
    const digest = HMACS[algorithm];
    if (digest === undefined) return false;
    const expected = Buffer.from(createHmac(digest, secret).update(name, 'utf8').digest('hex'), 'utf8');
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** The user a trusted proxy names in this request's headers, or null (then the next handler runs). */
export function proxyUser(req: IncomingMessage, config: CouchConfig): UserCtx | null {
  const header = (name: string): string | undefined => {
    const v = req.headers[name.toLowerCase()];
    return typeof v === 'string' ? v : undefined;
  };
  const name = header(config.chttpdAuth('x_auth_username') ?? 'X-Auth-CouchDB-UserName');
  if (name === undefined || name === '') return null;
  if (config.chttpdAuth('proxy_use_secret') === 'true') {
    const secret = config.chttpdAuth('secret');
    const token = header(config.chttpdAuth('x_auth_token') ?? 'X-Auth-CouchDB-Token');
    if (secret === undefined || secret === '' || token === undefined || !tokenMatches(config, secret, name, token)) return null;
  }
  // string:tokens(Roles, ","): empty entries dropped, no trimming.
  const roles = (header(config.chttpdAuth('x_auth_roles') ?? 'X-Auth-CouchDB-Roles') ?? '').split(',').filter((r) => r !== '');
  return { name, admin: roles.includes('_admin'), via: 'proxy', roles, source: 'couchdb' };
}
