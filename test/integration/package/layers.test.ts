/**
 * The layers only point down (.dependency-cruiser.cjs, run by `npm test` before vitest):
 * the tree as it is has no violation, and the rules do catch one — an upward import, a cycle,
 * h5wasm outside src/h5ad, file I/O in a pure layer — so the check cannot pass by accident.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..', '..');
const depcruise = join(repo, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string, ...paths: string[]): { code: number | null; out: string } {
  const r = spawnSync(depcruise, [...paths, '--config', '.dependency-cruiser.cjs'], { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const dir = mkdtempSync(join(tmpdir(), 'cb-layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(dir, 't-'));
  copyFileSync(join(repo, '.dependency-cruiser.cjs'), join(root, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', types: [] } }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('layers', () => {
  test('the source tree has no upward import and no cycle', () => {
    const r = cruise(repo, 'src', 'harness', 'bench', 'test');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/no dependency violations found/);
  });

  test('an upward import, a cycle, h5wasm outside src/h5ad and fs in a pure layer are each refused', () => {
    const root = tree({
      'src/core/low.ts': "import { high } from '../../harness/run/high.js';\nexport const low = high;\n",
      'harness/run/high.ts': 'export const high = 1;\n',
      'harness/report/text.ts': "import { high } from '../run/high.js';\nexport const text = high;\n",
      'src/strategies/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/strategies/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'src/pipeline/io.ts': "import { readFileSync } from 'node:fs';\nexport const io = readFileSync;\n",
      'src/memory/wasm.ts': "import 'h5wasm/node';\n",
      'node_modules/h5wasm/package.json': JSON.stringify({ name: 'h5wasm', exports: { './node': './node.js' } }),
      'node_modules/h5wasm/node.js': 'export {};\n',
    });
    const r = cruise(root, 'src', 'harness');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/no-upward-from-core: src\/core\/low\.ts → harness\/run\/high\.ts/);
    expect(r.out).toMatch(/no-upward-from-harness-report: harness\/report\/text\.ts → harness\/run\/high\.ts/);
    expect(r.out).toMatch(/no-circular: src\/strategies\/a\.ts → /);
    expect(r.out).toMatch(/pure-layers-do-no-io: src\/pipeline\/io\.ts → (node:)?fs/);
    expect(r.out).toMatch(/h5wasm-only-in-h5ad: src\/memory\/wasm\.ts → node_modules\/h5wasm/);
  });
});
