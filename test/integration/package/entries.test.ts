/**
 * The package entries cost nothing to import: no WebAssembly module compiled or instantiated,
 * no file opened (HDF5's diagnostics file included), no process started, no temporary file
 * left — each imported in a fresh node, as a user's program would. HDF5 starts on first use
 * (`await h5Ready()`), and a read before it says so instead of failing inside h5wasm.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const pkg = (await import(pathToFileURL(join(repo, 'package.json')).href, { with: { type: 'json' } })).default as {
  exports: Record<string, string | { import: string }>;
};

/** Every subpath the package exports, with the built file it points at. */
const ENTRIES = Object.entries(pkg.exports)
  .filter(([name]) => name !== './package.json')
  .map(([name, target]) => ({
    name: name === '.' ? 'cellbudget' : `cellbudget/${name.slice(2)}`,
    file: join(repo, typeof target === 'string' ? target : target.import),
  }));

// Runs in the fresh node: counts WebAssembly compilations and instantiations, open file
// descriptors, child processes and the process's RSS around the import.
const PROBE = `
import { readdirSync, readFileSync } from 'node:fs';
const counts = { wasm: 0 };
for (const k of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming']) {
  const f = WebAssembly[k];
  if (f) WebAssembly[k] = function (...a) { counts.wasm++; return f.apply(this, a); };
}
for (const k of ['Module', 'Instance']) {
  const C = WebAssembly[k];
  WebAssembly[k] = new Proxy(C, { construct(t, a) { counts.wasm++; return Reflect.construct(t, a); } });
}
const fds = () => readdirSync('/proc/self/fd').length;
const children = () => readdirSync('/proc/self/task').flatMap((t) => readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(/\\s+/).filter(Boolean));
const rss = () => process.memoryUsage().rss;
const before = { fds: fds(), rss: rss() };
const m = await import(process.argv[1]);
await new Promise((r) => setTimeout(r, 50));
// Measured before process.stdout is first touched: creating it opens a descriptor.
const result = JSON.stringify({ exports: Object.keys(m).length, wasm: counts.wasm, fds: fds() - before.fds, children: children().length, rss: rss() - before.rss });
process.stdout.write(result);
`;

function importIn(file: string): { exports: number; wasm: number; fds: number; children: number; rss: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, file], { encoding: 'utf8', cwd: repo });
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof importIn>;
}

describe('importing a package entry does no work', () => {
  test('the package exports cellbudget, cellbudget/h5ad, cellbudget/harness and cellbudget/vitest', () => {
    expect(ENTRIES.map((e) => e.name).sort()).toEqual(['cellbudget', 'cellbudget/h5ad', 'cellbudget/harness', 'cellbudget/vitest']);
    for (const e of ENTRIES) expect(existsSync(e.file), `${e.name}: ${e.file} (npm run build)`).toBe(true);
  });

  test.each(ENTRIES)('$name: no WebAssembly, no open file, no process', ({ file }) => {
    const r = importIn(file);
    expect(r.exports).toBeGreaterThan(0);
    expect(r.wasm, 'WebAssembly compiled or instantiated on import').toBe(0);
    expect(r.fds, 'files opened on import').toBe(0);
    expect(r.children, 'processes started on import').toBe(0);
    // h5wasm's two instances alone were +62 MB; what is left is JavaScript (zod, our modules).
    expect(r.rss, 'RSS grown by the import').toBeLessThan(45e6);
  });

  test('HDF5 loads on first use: a read before h5Ready() says what to do; after it, the file opens', () => {
    const script = `
      const { openH5ad, h5Ready, h5Loaded } = await import(process.argv[1]);
      let message = '';
      try { openH5ad(process.argv[2]); } catch (e) { message = e.code + ': ' + e.message; }
      const loadedBefore = h5Loaded();
      await h5Ready();
      const src = openH5ad(process.argv[2]);
      process.stdout.write(JSON.stringify({ message, loadedBefore, loadedAfter: h5Loaded(), nObs: src.nObs }));
      src.close();`;
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, join(repo, 'dist/src/index.js'), join(repo, 'fixtures/datasets/tiny.h5ad')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { message: string; loadedBefore: boolean; loadedAfter: boolean; nObs: number };
    expect(out.message).toMatch(/^USAGE: .*not loaded yet.*await h5Ready\(\)/);
    expect(out.loadedBefore).toBe(false);
    expect(out.loadedAfter).toBe(true);
    expect(out.nObs).toBeGreaterThan(0);
  });
});
