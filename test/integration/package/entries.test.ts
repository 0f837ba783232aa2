/**
 * The package entries cost nothing to import: no WebAssembly module compiled or instantiated,
 * no file opened (HDF5's diagnostics file included), no process started, no temporary file
 * left — each imported in a fresh node, as a user's program would. HDF5 starts on first use
 * (`await h5Ready()`), and a read before it says so instead of failing inside h5wasm.
 *
 * And every entry still exports every name it exported when the list was taken
 * (test/fixtures/package/entry-names.json): values at run time, types in the built .d.ts.
 * A renamed export keeps its old name as an alias, so a user's import keeps working.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
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
const result = JSON.stringify({ exports: Object.keys(m).length, names: Object.keys(m), wasm: counts.wasm, fds: fds() - before.fds, children: children().length, rss: rss() - before.rss });
process.stdout.write(result);
`;

function importIn(file: string): { exports: number; names: string[]; wasm: number; fds: number; children: number; rss: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, file], { encoding: 'utf8', cwd: repo });
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof importIn>;
}

/** The names each entry exported when the list was taken, values and types apart. */
const NAMES = JSON.parse(readFileSync(join(repo, 'test/fixtures/package/entry-names.json'), 'utf8')) as Record<
  string,
  { values: string[]; types: string[] }
>;

/** Every name a built .d.ts exports (values and types), as TypeScript resolves it for a user. */
function declaredExports(files: readonly string[]): Map<string, Set<string>> {
  const program = ts.createProgram([...files], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((f) => {
      const source = program.getSourceFile(f);
      const module = source && checker.getSymbolAtLocation(source);
      if (!module) throw new Error(`${f}: TypeScript cannot read it as a module (npm run build)`);
      return [f, new Set(checker.getExportsOfModule(module).map((s) => s.name))];
    }),
  );
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

describe('the package entries keep their names', () => {
  test('every entry still exports every name it exported: values at run time, types in its .d.ts', () => {
    expect(Object.keys(NAMES).sort()).toEqual(ENTRIES.map((e) => e.name).sort());
    const declared = declaredExports(ENTRIES.map((e) => e.file.replace(/\.js$/, '.d.ts')));
    for (const e of ENTRIES) {
      const was = NAMES[e.name]!;
      const runtime = new Set(importIn(e.file).names);
      expect(
        was.values.filter((n) => !runtime.has(n)),
        `${e.name}: values it no longer exports`,
      ).toEqual([]);
      const types = declared.get(e.file.replace(/\.js$/, '.d.ts'))!;
      expect(
        [...was.values, ...was.types].filter((n) => !types.has(n)),
        `${e.name}: names its .d.ts no longer exports`,
      ).toEqual([]);
    }
  });
});
