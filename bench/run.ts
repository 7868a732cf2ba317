/**
 * `npm run bench -- NAME`: runs bench/NAME.ts, which exports `run(): Promise<void>` and prints
 * its own figures. Sizes can be lowered with environment variables each benchmark documents.
 */
import { existsSync, readdirSync } from 'node:fs';

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
const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
await mod.run();
