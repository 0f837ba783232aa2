// The build writes h5wasm's WebAssembly binary beside the reader, with h5wasm's JavaScript
// minus its embedded copy (scripts/extract-h5wasm.mjs), so that neither the 4.2 MB JavaScript
// nor its string is read and decoded at every start. The binary must be exactly the one h5wasm
// itself decodes, the JavaScript h5wasm's but for that string, and the reader must use them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { h5Ready, h5wasmBinary } from '../../../src/h5ad/file.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const built = join(root, 'dist', 'src', 'h5ad');

describe("h5wasm's binary, extracted at build time", () => {
  it('is byte for byte the binary h5wasm decodes from its own JavaScript', () => {
    const meta = JSON.parse(readFileSync(join(built, 'h5wasm.json'), 'utf8')) as { h5wasm: string; sha256: string; wasm_bytes: number };
    const wasm = readFileSync(join(built, 'h5wasm.wasm'));
    expect(wasm.length).toBe(meta.wasm_bytes);
    expect(createHash('sha256').update(wasm).digest('hex')).toBe(meta.sha256);
    // h5wasm's own decoding, caught where it hands the bytes to WebAssembly.
    const dir = (createRequire(join(root, 'package.json')).resolve.paths('h5wasm') ?? [])
      .map((d) => join(d, 'h5wasm'))
      .find((d) => existsSync(join(d, 'package.json')))!;
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

  it("ships with h5wasm's JavaScript minus only the embedded copy, and h5wasm's notice", () => {
    const dir = (createRequire(join(root, 'package.json')).resolve.paths('h5wasm') ?? [])
      .map((d) => join(d, 'h5wasm'))
      .find((d) => existsSync(join(d, 'package.json')))!;
    const original = readFileSync(join(dir, 'dist', 'node', 'hdf5_util.js'), 'utf8');
    const glue = readFileSync(join(built, 'hdf5_util.js'), 'utf8');
    const head = 'function findWasmBinary(){return binaryDecode(';
    const at = original.indexOf(head) + head.length;
    expect(glue.slice(0, at)).toBe(original.slice(0, at));
    expect(glue.slice(at, at + 3)).toBe("'')");
    expect(glue.slice(at + 2)).toBe(original.slice(original.indexOf("')}", at) + 1));
    expect(readFileSync(join(built, 'h5wasm.LICENSE.txt'), 'utf8')).toBe(readFileSync(join(dir, 'LICENSE.txt'), 'utf8'));
  });

  it('is what the reader loads', async () => {
    await h5Ready();
    expect(h5wasmBinary()).toBe('extracted');
  });
});
