#!/usr/bin/env node
// The `freshet` command. `npm install` compiles src/ to dist/ and bundles the CLI into
// dist/cli-bundle/ (the prepare script, scripts/build-if-needed.mjs says why).
import '../dist/cli-bundle/entry.js';
