#!/usr/bin/env node
// tsc copies only TypeScript output; the Lua scripts and the descriptor set are read at run time
// from beside the compiled files, so they are copied into dist/ after each build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
for (const rel of ['store/lua', 'gen/caravan.binpb']) {
  fs.cpSync(path.join(root, 'src', rel), path.join(root, 'dist', rel), { recursive: true });
}
