#!/usr/bin/env bash
# The packaging check (.ci/run runs it after npm test): what `npm install freshet` gets must run
# on its own. Packs the tree (prepare builds dist/ from scratch), checks the tarball holds only
# what runs, installs it with --omit=dev into an empty folder, and there runs `freshet --version`,
# `freshet serve` up to its ready line and a clean SIGTERM exit, and imports the package's entry
# points. Any failure exits non-zero with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(node -p "require('./package.json').version")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/freshet-pack-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "pack-check: FAILED: $*" >&2
  exit 1
}
step() { echo "pack-check: $*"; }

step "packing freshet $version"
tarball=$(npm pack --silent --pack-destination "$tmp" | tail -n 1)
[ -f "$tmp/$tarball" ] || fail "npm pack produced no tarball"
listing=$(tar -tzf "$tmp/$tarball")
for unwanted in src/ test/ bench/ .ci/ scripts/ scratch/ data/ tsconfig.json config.json log.txt; do
  if grep -q "^package/$unwanted" <<<"$listing"; then fail "the tarball contains $unwanted"; fi
done
for wanted in bin/freshet.js dist/cli-bundle/entry.js dist/cli/entry.js dist/index.js dist/index.d.ts public/ui/index.html public/ui/console.js LICENSE README.md package.json; do
  grep -qx "package/$wanted" <<<"$listing" || fail "the tarball lacks $wanted"
done
step "$(wc -l <<<"$listing") files, $(du -k "$tmp/$tarball" | cut -f1) KiB"

step "checking that every package dist/ imports is a dependency"
tar -xzf "$tmp/$tarball" -C "$tmp"
node --input-type=module - "$tmp/package" <<'JS' || fail "dependency check"
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModules } from 'node:module';
const dir = process.argv[2];
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const deps = new Set(Object.keys(pkg.dependencies ?? {}));
const used = new Set();
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.js')) {
      const text = readFileSync(p, 'utf8');
      for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        used.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
};
walk(join(dir, 'dist'));
walk(join(dir, 'bin'));
const missing = [...used].filter((m) => !deps.has(m));
if (missing.length > 0) {
  console.error(`imported at run time but not in dependencies: ${missing.join(', ')}`);
  process.exit(1);
}
const unused = [...deps].filter((d) => !used.has(d));
console.log(`pack-check: runtime imports: ${[...used].sort().join(', ')}`);
if (unused.length > 0) console.log(`pack-check: note: dependencies not imported by dist/ yet: ${unused.join(', ')}`);
JS

step "installing the tarball with --omit=dev into an empty folder"
app="$tmp/app"
mkdir -p "$app"
(cd "$app" && npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund --loglevel=error "$tmp/$tarball" >/dev/null) ||
  fail "npm install of the tarball"

cd "$app"
step "freshet --version"
got=$(npx --no -- freshet --version) || fail "freshet --version exited non-zero"
[ "$got" = "$version" ] || fail "freshet --version printed '$got', expected '$version'"

step "freshet serve: ready line, then SIGTERM"
data="$tmp/data"
# the installed bin itself, not npx: a signal must reach the server, whose own exit code counts
./node_modules/.bin/freshet serve --data "$data" --kv-port 0 --mgmt-port 0 --http-port 0 --vbuckets 16 --log-level warn \
  >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
for _ in $(seq 1 300); do
  if grep -q '^freshet ready ' "$tmp/serve.out"; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.err" >&2; fail "freshet serve exited before its ready line"; }
  sleep 0.1
done
grep -q '^freshet ready ' "$tmp/serve.out" || { cat "$tmp/serve.err" >&2; fail "no ready line within 30 s"; }
step "$(grep '^freshet ready ' "$tmp/serve.out")"
step "the console: /ui/ and uPlot from the installed package"
mgmt_port=$(sed -n 's/^freshet ready .*mgmt=\([0-9]*\).*/\1/p' "$tmp/serve.out")
node --input-type=module - "$mgmt_port" <<'JS' || fail "the console is not served"
const base = `http://127.0.0.1:${process.argv[2]}/ui/`;
for (const [path, type] of [['', 'text/html'], ['console.js', 'text/javascript'], ['vendor/uPlot.iife.min.js', 'text/javascript']]) {
  const res = await fetch(base + path);
  const ct = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !ct.startsWith(type)) throw new Error(`GET /ui/${path}: ${res.status} ${ct}`);
}
JS
step "what loads on first use: replication, a metrics scrape, a design function, Mango, tail, stats"
# bin/freshet.js runs the bundled CLI (scripts/build-if-needed.mjs): each of these loads a chunk
# of it, or a package, that the ready line did not need.
http_port=$(sed -n 's/^freshet ready .*http=\([0-9]*\).*/\1/p' "$tmp/serve.out")
kv_port=$(sed -n 's/^freshet ready kv=\([0-9]*\).*/\1/p' "$tmp/serve.out")
node --input-type=module - "$http_port" "$mgmt_port" <<'JS' || fail "a lazily loaded part of the server failed"
const [http, mgmt] = process.argv.slice(2);
const auth = { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}`, 'content-type': 'application/json' };
const call = async (port, method, path, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text };
};
const expect = (what, r, status) => { if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text}`); };
expect('create a database', await call(http, 'PUT', '/src'), 201);
expect('a design function', await call(http, 'PUT', '/src/_design/v', { validate_doc_update: 'function (d) { if (d.bad) throw { forbidden: "bad" }; }' }), 201);
expect('a write it refuses', await call(http, 'PUT', '/src/b', { bad: true }), 403);
expect('a write it takes', await call(http, 'PUT', '/src/a', { n: 1 }), 201);
expect('a Mango query', await call(http, 'POST', '/src/_find', { selector: { n: 1 } }), 200);
expect('a replication', await call(http, 'POST', '/_replicate', { source: 'src', target: 'dst', create_target: true }), 200);
expect('the replica', await call(http, 'GET', '/dst/a'), 200);
const scrape = await call(mgmt, 'GET', '/metrics');
expect('a metrics scrape', scrape, 200);
if (!scrape.text.includes('freshet_')) throw new Error('the scrape has no freshet_ metrics');
JS
./node_modules/.bin/freshet stats --mgmt-port "$mgmt_port" --json >"$tmp/stats.json" || fail "freshet stats exited non-zero"
node -e "const s = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); if (!s.buckets.some((b) => b.name === 'default')) process.exit(1)" "$tmp/stats.json" ||
  fail "freshet stats --json lists no default bucket"
./node_modules/.bin/freshet tail "couchbase://127.0.0.1:$kv_port/default" -u Administrator -p password --to now -q >/dev/null ||
  fail "freshet tail --to now exited non-zero"
kill -TERM "$server_pid"
set +e
wait "$server_pid"
code=$?
set -e
server_pid=""
[ "$code" -eq 0 ] || { cat "$tmp/serve.err" >&2; fail "freshet serve exited with $code after SIGTERM"; }

step "importing freshet, freshet/consumer, freshet/replicator (ESM)"
node --input-type=module -e "await import('freshet'); await import('freshet/consumer'); await import('freshet/replicator');" ||
  fail "an entry point does not import"

cd "$root"
step "passed"
