#!/usr/bin/env node
// `npm run build`: compile (tsc), extract h5wasm's binary, bundle the CLI. Everything is written
// into a new folder beside dist/ and then swapped in by two renames, so a process running from
// dist/ (a test run's measuring children, `npx cellbudget`) never finds it deleted or half
// written: the old files stay whole until the new ones are complete.
//
// `--if-stale` (what `prepare` runs, so on every `npm ci`, `npm install` and the first
// `npx cellbudget` in a clone): nothing to do when dist/ was built from these very inputs
// (the sources, the tsconfigs, package.json, package-lock.json and the build scripts, by
// content); a fresh clone has no dist/ and is built.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const dist = join(root, 'dist');
const STAMP = '.build-inputs';
const ifStale = process.argv.includes('--if-stale');

/** What the build reads, as one digest: every file under the compiled folders and the files that say how. */
function inputsDigest() {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const d of ['src', 'harness', 'bench']) if (existsSync(join(root, d))) walk(join(root, d));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) files.push(join(root, f));
  for (const f of ['build.mjs', 'extract-h5wasm.mjs', 'bundle-cli.mjs']) files.push(join(root, 'scripts', f));
  const hash = createHash('sha256');
  for (const f of files.filter(existsSync).sort())
    hash
      .update(`${relative(root, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return hash.digest('hex');
}

const digest = inputsDigest();
const stampOf = (dir) => {
  try {
    return readFileSync(join(dir, STAMP), 'utf8').trim();
  } catch {
    return null;
  }
};
if (ifStale && stampOf(dist) === digest) {
  process.stdout.write('build: dist/ is up to date with the sources (npm run build rebuilds it anyway)\n');
  process.exit(0);
}

/** Folders a build killed before its swap left behind (their process is gone). */
function sweepLeftovers() {
  for (const name of readdirSync(root)) {
    const m = /^dist\.(?:next|old)-(\d+)$/.exec(name);
    if (m === null || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // another build is running
    } catch (e) {
      if (e.code === 'EPERM') continue;
    }
    rmSync(join(root, name), { recursive: true, force: true });
  }
}
sweepLeftovers();

const next = join(root, `dist.next-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
const node = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
let moved = false;
try {
  // Same depth as dist/: the compiled modules and the bundle find package.json, scenarios/ and
  // node_modules by relative paths, which hold unchanged once the folder is renamed to dist.
  node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', next]);
  node([join(root, 'scripts', 'extract-h5wasm.mjs'), next]);
  node([join(root, 'scripts', 'bundle-cli.mjs'), next]);
  writeFileSync(join(next, STAMP), `${digest}\n`);
  // The swap: between these two renames (microseconds) there is no dist/; before them the old
  // build is whole, after them the new one.
  if (existsSync(dist)) {
    renameSync(dist, old);
    moved = true;
  }
  renameSync(next, dist);
  moved = false;
} finally {
  if (moved && !existsSync(dist)) renameSync(old, dist);
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
