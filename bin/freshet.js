#!/usr/bin/env node
// The `freshet` command. `npm install` compiles src/ to dist/ (the prepare script).
import '../dist/cli/entry.js';
