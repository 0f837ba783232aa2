// The build writes h5wasm's WebAssembly binary beside the reader (scripts/extract-h5wasm.mjs)
// so that it need not be decoded from h5wasm's JavaScript at every start. It must be exactly the
// binary h5wasm itself decodes, and the reader must use it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { h5Ready, h5wasmBinary } from '../src/h5ad/file.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'h5ad');

describe("h5wasm's binary, extracted at build time", () => {
  it('is byte for byte the binary h5wasm decodes from its own JavaScript', () => {
    const meta = JSON.parse(readFileSync(join(built, 'h5wasm.json'), 'utf8')) as { h5wasm: string; sha256: string; wasm_bytes: number };
    const wasm = readFileSync(join(built, 'h5wasm.wasm'));
    expect(wasm.length).toBe(meta.wasm_bytes);
    expect(createHash('sha256').update(wasm).digest('hex')).toBe(meta.sha256);
    // h5wasm's own decoding, caught where it hands the bytes to WebAssembly.
    const dir = (createRequire(join(root, 'package.json')).resolve.paths('h5wasm') ?? []).map((d) => join(d, 'h5wasm')).find((d) => existsSync(join(d, 'package.json')))!;
    const factory = join(dir, 'dist', 'node', 'hdf5_util.js');
    const probe = `
      const { createHash } = await import('node:crypto');
      const real = WebAssembly.instantiate;
      let seen = null;
      WebAssembly.instantiate = (bytes, imports) => { seen ??= createHash('sha256').update(bytes).digest('hex'); return real(bytes, imports); };
      await (await import(${JSON.stringify(new URL(`file://${factory}`).href)})).default({ noInitialRun: true });
      process.stdout.write(seen);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(meta.sha256);
  });

  it('is what the reader loads', async () => {
    await h5Ready();
    expect(h5wasmBinary()).toBe('extracted');
  });
});
