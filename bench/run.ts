/**
 * `npm run bench -- NAME`: runs bench/NAME.ts, which exports `run(): Promise<void>` and prints
 * its own figures. Sizes can be lowered with environment variables each benchmark documents.
 * Benchmarks that host the server in this process measure it under the V8 settings `freshet
 * serve` runs with (cli/v8-tuning.ts), printed first.
 */
import { existsSync, readdirSync } from 'node:fs';
import { missingNodeFlags, SERVER_NODE_FLAGS, tuneV8ForServer } from '../src/cli/v8-tuning.js';

const here = new URL('.', import.meta.url);
const known = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'report.ts', 'serve.ts', 'couch-http.ts', 'kv-load.ts', 'dcp-pump.ts', 'dcp-consumer.ts', 'dcp-memory.ts', 'engine-load.ts'].includes(f) && !f.includes('.tmp.'))
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];
if (!name || !existsSync(new URL(`${name}.ts`, here)) || !known.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${known.join('|')}>\n`);
  process.exit(2);
}
// The ones V8 reads only at startup come from package.json's `bench` script, as `npm start` gives them.
const missing = missingNodeFlags();
const given = SERVER_NODE_FLAGS.filter((f) => !missing.includes(f));
process.stdout.write(`V8 flags as in freshet serve: ${[...tuneV8ForServer(), ...given].join(' ') || '(the ones given to node)'}\n`);
if (missing.length > 0) process.stdout.write(`warning: node was started without ${missing.join(' ')}, which freshet serve runs with\n`);
const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
await mod.run();
