/**
 * The console's tables and summary cards, rendered from one `GET /freshet/stats` document
 * (src/metrics/documents.ts `summary`). Everything is written with textContent: bucket names,
 * connection names and replication URLs are user data and never parsed as HTML. A field the
 * server does not send shows as a dash rather than breaking the page.
 */

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US') : '—');

export function bytes(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function duration(seconds) {
  if (typeof seconds !== 'number') return '—';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${Math.floor(seconds % 60)}s`;
}

function cell(text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  if (typeof text === 'string') td.title = text;
  return td;
}

/** Replace a table's rows; `rows` are arrays of cell contents. */
function fill(table, rows, empty) {
  const body = table.tBodies[0];
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(empty, 'empty');
    td.colSpan = table.tHead.rows[0].cells.length;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(
    ...rows.map(({ key, cells }) => {
      const tr = document.createElement('tr');
      tr.dataset.key = key;
      tr.append(...cells.map((c, i) => cell(c, i < 2 ? 'name' : '')));
      return tr;
    }),
  );
}

function progress(done, pending) {
  const wrap = document.createElement('span');
  const total = done + (typeof pending === 'number' ? pending : 0);
  const pct = total === 0 ? (pending === 0 ? 100 : 0) : Math.round((100 * done) / total);
  const bar = document.createElement('span');
  bar.className = 'progress';
  const fillBar = document.createElement('span');
  fillBar.style.width = `${pct}%`;
  bar.append(fillBar);
  wrap.append(bar, ` ${typeof pending === 'number' ? `${pct}%` : '?'}`);
  return wrap;
}

function card(label, value, tone) {
  const div = document.createElement('div');
  div.className = 'card';
  const l = document.createElement('div');
  l.className = 'label';
  l.textContent = label;
  const v = document.createElement('div');
  v.className = `value${tone ? ` ${tone}` : ''}`;
  v.textContent = value;
  div.append(l, v);
  return div;
}

/**
 * @param {Record<string, any>} s the stats document
 * @param {{ reads: number|null, writes: number|null, mutations: number|null }} rates per second
 */
export function renderPanels(s, rates) {
  const buckets = Array.isArray(s.buckets) ? s.buckets : [];
  const conns = Array.isArray(s.dcp?.connections) ? s.dcp.connections : [];
  const reps = Array.isArray(s.replications) ? s.replications : [];
  const storage = s.storage ?? {};
  const rate = (v) => (v === null ? '—' : v.toFixed(v < 10 ? 1 : 0));

  document.getElementById('cards').replaceChildren(
    card('Uptime', duration(s.uptimeSeconds)),
    card('Storage', String(storage.state ?? '—'), storage.state === 'healthy' ? 'good' : storage.state ? 'bad' : ''),
    card('Items', num(buckets.reduce((n, b) => n + (b.items ?? 0), 0))),
    card('Reads / s', rate(rates.reads)),
    card('Writes / s', rate(rates.writes)),
    card('KV connections', num(s.kv?.connections)),
    card('DCP connections', num(conns.length)),
    card('Failed logins', num(s.auth?.failedLogins), s.auth?.failedLogins > 0 ? 'bad' : ''),
  );

  fill(
    document.getElementById('buckets'),
    buckets.map((b) => ({
      key: b.name,
      cells: [b.name, num(b.items), num(b.tombstones), num(b.highSeqnoSum), num(b.persistenceLag ?? b.highSeqnoSum - b.persistedSeqnoSum), bytes(b.bytes), num(b.numVBuckets)],
    })),
    'No buckets',
  );

  fill(
    document.getElementById('dcp'),
    conns.map((c) => ({
      key: `${c.bucket ?? ''}/${c.name}`,
      cells: [c.bucket ?? '—', c.name, num(c.streams), num(c.itemsSent), num(c.itemsRemaining), bytes(c.bytesBuffered), c.paused ? 'paused' : 'streaming'],
    })),
    'No DCP connections',
  );

  const byMode = s.feeds?.byMode ?? {};
  fill(
    document.getElementById('feeds'),
    Object.entries(byMode).map(([mode, n]) => ({ key: mode, cells: [mode, num(n)] })),
    `No open feeds${typeof s.feeds?.count === 'number' ? ` (${s.feeds.count} in all)` : ''}`,
  );

  fill(
    document.getElementById('replications'),
    reps.map((r) => ({
      key: r.id,
      cells: [`${r.source} → ${r.target}`, String(r.state ?? '—'), num(r.docsRead), num(r.docsWritten), num(r.docFailures), num(r.pending), progress(r.docsWritten ?? 0, r.pending)],
    })),
    'No replication jobs',
  );
}
