#!/usr/bin/env node
// Bundle the compiled CLI (dist/src/cli/main.js) into dist/cli/ for bin/cellbudget.js: a few
// chunks instead of ~130 ES modules (zod alone is 95). Measured on `split --digest`: ~80 ms
// and ~13 MB less start-up, idle and on 1M cells alike. Each command stays a chunk of its own,
// loaded only when run.
//
// Bundled: the pure-JavaScript dependencies the CLI imports. Left as imports: Node's modules,
// the native and WebAssembly ones (found on disk at run time) and Chart.js (read as a file
// for the HTML report). The library's entry points (dist/src/index.js, ...) are not bundled,
// and the files the CLI starts by path (measuring children, Slurm jobs, the split helper
// thread) run from dist/src as before; the bundle sits two levels below the package root, as
// the lookups of package.json, scenarios/ and dist/src/... expect.
// `node scripts/bundle-cli.mjs [DIST]` bundles DIST/src/cli/main.js into DIST/cli (default dist/).
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(root, process.argv[2] ?? 'dist');
const out = join(dist, 'cli');
const external = new Set(['h5wasm', '@napi-rs/canvas', '@airbnb/node-memwatch', 'chart.js', ...builtinModules]);
const packageOf = (id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);

rmSync(out, { recursive: true, force: true });
await build({
  // Module paths in the bundle's comments (and so its chunks' hashes) are relative to DIST: the
  // same bytes whichever folder the build writes in before it becomes dist/.
  cwd: dist,
  input: { main: join(dist, 'src', 'cli', 'main.js') },
  platform: 'node',
  logLevel: 'warn',
  external: (id) => id.startsWith('node:') || external.has(packageOf(id)),
  output: { dir: out, format: 'esm', chunkFileNames: '[name]-[hash].js' },
});
