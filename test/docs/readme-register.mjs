// Loaded with `--import` by the README example runner (readme-examples.test.ts), after tsx: it
// registers readme-hooks.mjs, telling it which directory holds the example being run (the child's
// cwd), so that the example's own imports resolve as they would in a user's project.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./readme-hooks.mjs', import.meta.url, { data: { exampleDir: pathToFileURL(`${process.cwd()}/`).href } });
