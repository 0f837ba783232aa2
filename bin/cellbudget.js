#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare) or `npm run build`, which
// also bundles it into dist/cli/ (scripts/bundle-cli.mjs: a faster start than its ~130
// modules); without the bundle, the compiled modules run as they are.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// HDF5 (h5wasm) is a large WebAssembly module. V8 recompiles each of its functions with its
// optimizing compiler once it has run ~1.8 MB of code; in a CLI run those are mostly
// start-up and metadata functions that soon stop running. With a budget of 100 MB only the
// long-running ones (gzip's inflate) are recompiled. Measured, runs alternating: idle
// `split --digest` 0.40 -> 0.33 s and 98 -> 83 MB; 1M cells 1.10 -> 1.08 s, 344 -> 338 MB;
// reading a 1M-cell gzip matrix 1.9-2.2 -> 1.8-1.9 s. Set for this process only (the
// harness's measuring children do not inherit it), before HDF5 is compiled.
setFlagsFromString('--wasm-tiering-budget=100000000');

const bundle = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js');

process.exitCode = await main(process.argv);
