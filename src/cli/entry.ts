/** Process entry for the CLI (bin/freshet.js runs the compiled copy of this). */
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`freshet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
