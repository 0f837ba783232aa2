#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare) or `npm run build`, which
// also bundles it into dist/cli/ (scripts/bundle-cli.mjs: a faster start than its ~130
// modules); without the bundle, the compiled modules run as they are.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js');

process.exitCode = await main(process.argv);
