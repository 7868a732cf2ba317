#!/usr/bin/env -S node --max-semi-space-size=8
// The `freshet` command. `npm install` compiles src/ to dist/ (the prepare script).
import '../dist/cli/entry.js';
