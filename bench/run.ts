/**
 * `npm run bench -- NAME`: runs bench/NAME.ts, which exports `run(): Promise<void>` and prints
 * its own figures. Sizes can be lowered with environment variables each benchmark documents.
 */
const name = process.argv[2];
const known = ['engine', 'kv'];
if (!name || !known.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${known.join('|')}>\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
await mod.run();
