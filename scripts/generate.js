#!/usr/bin/env node
// Regenerates src/gen from proto/: TypeScript types and grpc-js service definitions (ts-proto), and
// the descriptor set that the reflection service serves. Run after editing any .proto file.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buf = path.join(root, 'node_modules', '.bin', 'buf');
const run = (args) => execFileSync(buf, args, { cwd: root, stdio: 'inherit' });

run(['lint']);
run(['generate']);
run(['build', '--output', 'src/gen/caravan.binpb']);
