#!/usr/bin/env node
// Part of `npm run build`: write h5wasm's WebAssembly binary, which its Node build embeds in
// its JavaScript as a string, as a file beside the compiled reader (dist/src/h5ad/h5wasm.wasm),
// and that JavaScript without the string (hdf5_util.js), with h5wasm's licence notice and
// h5wasm.json saying which h5wasm they came from. At run time src/h5ad/file.ts compiles the
// binary and loads the smaller JavaScript instead of letting h5wasm read, parse and decode the
// string on every start; for another h5wasm, or without the files, h5wasm loads as it always does.
// `node scripts/extract-h5wasm.mjs [DIST]` writes into DIST (default dist/; the build passes
// the folder it builds in before swapping it in).
//
// The string is the argument of h5wasm's `findWasmBinary(){return binaryDecode('…')}` and is
// decoded as its binaryDecode does. Where the build looks different, nothing is written.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(resolve(root, process.argv[2] ?? 'dist'), 'src', 'h5ad');
const require = createRequire(join(root, 'package.json'));

function skip(why) {
  process.stderr.write(`extract-h5wasm: ${why}; h5wasm will decode its embedded binary at start-up\n`);
  process.exit(0);
}

let dir = null;
for (const d of require.resolve.paths('h5wasm') ?? []) {
  try {
    statSync(join(d, 'h5wasm', 'dist', 'node', 'hdf5_util.js'));
    dir = join(d, 'h5wasm');
    break;
  } catch {
    // not here
  }
}
if (dir === null) skip('h5wasm is not installed');
const source = join(dir, 'dist', 'node', 'hdf5_util.js');
const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
const text = readFileSync(source, 'utf8');
const head = 'function findWasmBinary(){return binaryDecode(';
const at = text.indexOf(head);
const end = at < 0 ? -1 : text.indexOf("')}", at);
if (at < 0 || end < 0) skip(`h5wasm ${version} does not embed its binary the way this script knows`);
// The literal as JavaScript reads it (its escapes included), then binaryDecode's own step.
const literal = new Function(`return ${text.slice(at + head.length, end + 1)}`)();
const bytes = new Uint8Array(literal.length);
for (let i = 0; i < literal.length; i++) {
  const c = literal.charCodeAt(i);
  bytes[i] = (~c >> 8) & c;
}
if (!WebAssembly.validate(bytes)) skip(`the binary found in h5wasm ${version} is not valid WebAssembly`);
// The same JavaScript without the embedded copy (an empty string in its place): 0.6 MB instead
// of 4.2 MB to read and parse at every start. It is only ever given the binary above.
const glue = text.slice(0, at + head.length) + "''" + text.slice(end + 1);
mkdirSync(out, { recursive: true });
const meta = {
  h5wasm: version,
  source_bytes: statSync(source).size,
  wasm_bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  glue_bytes: Buffer.byteLength(glue),
};
// h5wasm's licence asks that copies keep its notice intact.
const notice = readFileSync(join(dir, 'LICENSE.txt'));
for (const [name, data] of [
  ['h5wasm.wasm', bytes],
  ['hdf5_util.js', glue],
  ['h5wasm.LICENSE.txt', notice],
  ['h5wasm.json', `${JSON.stringify(meta, null, 1)}\n`],
]) {
  writeFileSync(join(out, `${name}.tmp`), data);
  renameSync(join(out, `${name}.tmp`), join(out, name));
}
process.stdout.write(
  `extract-h5wasm: h5wasm ${version}: ${bytes.length} bytes of WebAssembly -> dist/src/h5ad/h5wasm.wasm, its JavaScript without them (${glue.length} bytes) -> dist/src/h5ad/hdf5_util.js\n`,
);
