/**
 * The console's controller: sign-in, polling and charts.
 *
 * Sign-in asks for the administrator's user and password and keeps the Basic credentials in
 * sessionStorage (gone when the tab closes); every poll sends them in an Authorization header
 * with `invalid-auth-response: on`, so a wrong password comes back as a plain 401 the page
 * reports instead of the browser's own login dialog (ns_server's UI header). Couchbase's UI uses
 * a cookie session instead; Basic keeps this server free of session state.
 *
 * Polling: one `GET /freshet/stats` every POLL_MS, the next one only after the previous reply
 * (a slow server is never queued up on). Rates are derived here from the server's counters:
 * reads and writes per second of the KV face, and mutations per second of all faces together
 * (the change in the buckets' high seqnos, which HTTP writes raise too).
 */
import { History, LiveChart } from './charts.js';
import { renderPanels } from './panels.js';

const STATS_URL = '/freshet/stats';
const POLL_MS = 1000;
const KEEP_POINTS = 300;
const STORAGE_KEY = 'freshet.console.auth';

const $ = (id) => document.getElementById(id);

/** Basic credentials for `user:password`, UTF-8 encoded (RFC 7617 charset="UTF-8"). */
function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    return s && typeof s.user === 'string' && typeof s.auth === 'string' ? s : null;
  } catch {
    return null;
  }
}

/** What a failed stats request means to the operator. */
async function failure(res, user) {
  if (res.status === 401) return 'Wrong user name or password.';
  if (res.status === 403) {
    let needs = '';
    try {
      const body = await res.json();
      if (Array.isArray(body.permissions)) needs = ` (needs ${body.permissions.join(', ')})`;
    } catch {
      // The permission list is a courtesy; the status says enough.
    }
    return `User “${user}” may not read the server statistics${needs}. Sign in as the administrator.`;
  }
  if (res.status === 404) return `This server does not serve ${STATS_URL}.`;
  return `The server answered ${res.status} ${res.statusText}.`;
}

async function fetchStats(session) {
  return fetch(STATS_URL, {
    headers: { Authorization: session.auth, 'invalid-auth-response': 'on', Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
  });
}

class Console {
  constructor() {
    this.session = null;
    this.timer = undefined;
    this.generation = 0;
    this.prev = null;
    this.ops = new History(KEEP_POINTS);
    this.items = new History(KEEP_POINTS);
    this.lag = new History(KEEP_POINTS);
    this.charts = {
      ops: new LiveChart($('chart-ops'), { empty: 'Waiting for a second sample…', format: (v) => String(Number(v.toPrecision(3))) }),
      items: new LiveChart($('chart-items'), { empty: 'No buckets' }),
      lag: new LiveChart($('chart-dcp'), { empty: 'No DCP connections' }),
    };
  }

  start() {
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.signIn($('user').value, $('password').value);
    });
    $('logout').addEventListener('click', () => this.signOut());
    const saved = loadSession();
    if (saved) this.show(saved);
    else this.showLogin();
  }

  async signIn(user, password) {
    const error = $('login-error');
    error.hidden = true;
    $('login-button').disabled = true;
    const session = { user, auth: basic(user, password) };
    try {
      const res = await fetchStats(session);
      if (!res.ok) {
        error.textContent = await failure(res, user);
        error.hidden = false;
        return;
      }
      const first = await res.json();
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
      $('password').value = '';
      this.show(session, first);
    } catch (err) {
      error.textContent = err instanceof TypeError ? `Cannot reach the server: ${err.message}` : `The server's reply could not be read: ${err.message}`;
      error.hidden = false;
    } finally {
      $('login-button').disabled = false;
    }
  }

  signOut(message) {
    sessionStorage.removeItem(STORAGE_KEY);
    this.session = null;
    this.generation++;
    clearTimeout(this.timer);
    this.showLogin(message);
  }

  showLogin(message) {
    $('dashboard').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('status').textContent = '';
    const error = $('login-error');
    error.hidden = !message;
    error.textContent = message ?? '';
    $(($('user').value ? 'password' : 'user')).focus();
  }

  show(session, first) {
    this.session = session;
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = session.user;
    const generation = ++this.generation;
    if (first) this.update(first);
    this.timer = setTimeout(() => void this.poll(generation), first ? POLL_MS : 0);
  }

  async poll(generation) {
    const banner = $('poll-error');
    try {
      const res = await fetchStats(this.session);
      if (generation !== this.generation) return;
      if (res.status === 401 || res.status === 403) {
        this.signOut(`Signed out: ${await failure(res, this.session.user)}`);
        return;
      }
      if (!res.ok) throw new Error(await failure(res, this.session.user));
      this.update(await res.json());
      banner.hidden = true;
    } catch (err) {
      if (generation !== this.generation) return;
      // fetch() rejects with a TypeError ("Failed to fetch") when the server is unreachable
      // (stopped, restarting); a refused reply throws the sentence failure() wrote.
      const why = err instanceof TypeError ? `Cannot reach the server (${err.message}).` : err.message;
      banner.textContent = `Cannot update: ${why} Retrying…`;
      banner.hidden = false;
    }
    this.timer = setTimeout(() => void this.poll(generation), POLL_MS);
  }

  update(s) {
    const now = Date.parse(s.time ?? '') / 1000 || Date.now() / 1000;
    const kv = s.kv ?? {};
    const buckets = Array.isArray(s.buckets) ? s.buckets : [];
    const sample = {
      time: now,
      reads: kv.get ?? 0,
      writes: (kv.set ?? 0) + (kv.delete ?? 0) + (kv.arith ?? 0),
      mutations: buckets.reduce((n, b) => n + (b.highSeqnoSum ?? 0), 0),
    };
    const prev = this.prev;
    this.prev = sample;
    const dt = prev ? sample.time - prev.time : 0;
    const per = (k) => (dt > 0 ? Math.max(0, (sample[k] - prev[k]) / dt) : null);
    const rates = { reads: per('reads'), writes: per('writes'), mutations: per('mutations') };

    if (rates.reads !== null) {
      this.ops.push(now, new Map([['KV reads/s', rates.reads], ['KV writes/s', rates.writes], ['Mutations/s (all faces)', rates.mutations]]));
    }
    this.items.push(now, new Map(buckets.map((b) => [b.name, b.items ?? 0])));
    const conns = Array.isArray(s.dcp?.connections) ? s.dcp.connections : [];
    this.lag.push(now, new Map(conns.map((c) => [`${c.bucket ? `${c.bucket}: ` : ''}${c.name}`, c.itemsRemaining ?? 0])));

    renderPanels(s, rates);
    this.charts.ops.draw(this.ops);
    this.charts.items.draw(this.items);
    this.charts.lag.draw(this.lag);
    $('status').textContent = `Updated ${new Date(now * 1000).toLocaleTimeString()}`;
  }
}

new Console().start();
