/**
 * Opening h5ad files: validation before h5wasm sees the bytes, one helper that always
 * closes, and the mapping of h5wasm failures to CellbudgetError. The only module (with its
 * siblings in src/h5ad) that imports h5wasm.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { endianness, tmpdir, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Filter, Metadata, Module as H5ModuleValue } from 'h5wasm/node';
import { CellbudgetError, isCellbudgetError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { datasetLayout, datasetStorageBytes, groupVectors } from './storage.js';
import type { StoredVector, SuperblockInfo } from './storage.js';

export type { Metadata };
type H5Module = typeof H5ModuleValue;
type H5Factory = (opts: { noInitialRun: boolean; instantiateWasm?: unknown }) => Promise<H5Module>;

/** HDF5 datatype classes (H5T_class_t). */
export const T = { INTEGER: 0, FLOAT: 1, STRING: 3, COMPOUND: 6, REFERENCE: 7, ENUM: 8, VLEN: 9, ARRAY: 10 } as const;

/**
 * We instantiate h5wasm's Emscripten module ourselves (its raw bindings, not the
 * high-level classes): after a WebAssembly abort (a corrupt file can make HDF5 call
 * abort()) an instance is dead for good, and only a fresh instance lets the process
 * go on reading other files. The high-level API binds to one instance forever.
 */
function locateFactory(): string {
  const req = createRequire(import.meta.url);
  for (const dir of req.resolve.paths('h5wasm') ?? []) {
    const candidate = join(dir, 'h5wasm', 'dist', 'node', 'hdf5_util.js');
    if (existsSync(candidate)) return pathToFileURL(candidate).href;
  }
  throw new Error('h5wasm is not installed (node_modules/h5wasm/dist/node/hdf5_util.js not found); run npm ci.');
}
/**
 * HDF5 prints its error stack to stderr (the instance writes fd 2 straight through Node's
 * fs); users should see one clear message instead. We point the instance's fd 2 at an
 * unlinked temp file, and read HDF5's innermost reason back for our messages. With
 * CELLBUDGET_DEBUG set, the stack goes to stderr as usual.
 */
let diagFd = -1;
function openDiagnostics(): void {
  if (diagFd >= 0 || process.env['CELLBUDGET_DEBUG']) return;
  const diagPath = join(tmpdir(), `cellbudget-hdf5-${process.pid}-${Date.now()}.log`);
  diagFd = openSync(diagPath, 'a+');
  rmSync(diagPath, { force: true });
}
// Emscripten turns the options object into the instance: each instance needs a fresh one.
// Emscripten's own warnings (e.g. "Invalid UTF-8 leading byte" on a corrupt string) go
// through printErr: keep them out of the user's stderr unless debugging; the decoded value is
// what our checks judge.
const moduleOptions = (): { noInitialRun: boolean; printErr: (text: string) => void } => ({
  noInitialRun: true,
  printErr: (text: string) => {
    if (process.env['CELLBUDGET_DEBUG']) process.stderr.write(`${text}\n`);
  },
});

function quietStderr(lib: H5Module): H5Module {
  if (diagFd < 0) return lib;
  const fsys = (lib as unknown as { FS: { getStream(fd: number): { nfd?: number } | null } }).FS;
  const stream = fsys.getStream(2);
  if (stream && typeof stream.nfd === 'number') stream.nfd = diagFd;
  return lib;
}

/** HDF5's innermost reason for the last failure (e.g. "H5Z__filter_deflate(): inflate() failed"), then forget it. */
export function takeHdf5Reason(): string | undefined {
  if (diagFd < 0) return undefined;
  let text = '';
  try {
    const size = fstatSync(diagFd).size;
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(diagFd, buf, 0, buf.length, Math.max(0, size - buf.length));
    text = buf.toString('utf8');
    ftruncateSync(diagFd, 0);
  } catch {
    return undefined;
  }
  const frames = text.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const last = frames[frames.length - 1];
  if (last === undefined) return undefined;
  const m = /in (\w+\(\)): (.*)$/.exec(last);
  return m ? `${m[1]}: ${m[2]}` : last.trim();
}

// Nothing is loaded on import: importing cellbudget (or cellbudget/h5ad) costs no WebAssembly
// instance and no temporary file. The first `h5Ready()` loads both (measured: ~60 MB and ~0.2 s).
let factory: H5Factory | undefined;
let h5: H5Module | undefined;
let loading: Promise<void> | undefined;
/** The abort that killed the current instance, until a fresh one replaces it. */
let poisoned: unknown = null;
let respawning: Promise<void> | null = null;

// TypeScript's lib here (no DOM) declares little of WebAssembly: the three calls used, typed.
type WasmModule = object;
type WasmInstance = object;
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule>; Instance: new (m: WasmModule, imports: object) => WasmInstance };
  }
).WebAssembly;

/**
 * What the build wrote beside this module (scripts/extract-h5wasm.mjs) from the h5wasm
 * installed here: its binary as a file and its JavaScript without the embedded copy; null when
 * absent or made from another h5wasm (version, size of its JavaScript), and h5wasm loads as is.
 */
function prebuiltFiles(factoryUrl: string): { wasm: string; glue: string } | null {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const dir = [here, resolve(here, '..', '..', 'dist', 'src', 'h5ad')].find((d) => existsSync(join(d, 'h5wasm.json')));
    if (dir === undefined) return null;
    const meta = JSON.parse(readFileSync(join(dir, 'h5wasm.json'), 'utf8')) as {
      h5wasm?: string;
      source_bytes?: number;
      wasm_bytes?: number;
      glue_bytes?: number;
    };
    const source = fileURLToPath(factoryUrl);
    const pkg = JSON.parse(readFileSync(resolve(dirname(source), '..', '..', 'package.json'), 'utf8')) as { version?: string };
    if (meta.h5wasm !== pkg.version || meta.source_bytes !== statSync(source).size) return null;
    const wasm = join(dir, 'h5wasm.wasm');
    const glue = join(dir, 'hdf5_util.js');
    if (statSync(wasm).size !== meta.wasm_bytes || statSync(glue).size !== meta.glue_bytes) return null;
    return { wasm, glue: pathToFileURL(glue).href };
  } catch {
    return null;
  }
}

async function importFactory(url: string): Promise<H5Factory> {
  return ((await import(url)) as { default: H5Factory }).default;
}

/** How the current h5wasm instance was made: from the build's extracted binary, or from h5wasm's own embedded copy. */
export function h5wasmBinary(): 'extracted' | 'embedded' | null {
  return h5 === undefined ? null : wasmModule !== null ? 'extracted' : 'embedded';
}

let wasmModule: WasmModule | null = null;

/** Emscripten's instantiateWasm hook: an instance of the compiled module, made synchronously (a link error throws here, so the caller can fall back). */
function instantiateFrom(module: WasmModule): (imports: object, receive: (instance: WasmInstance, module: WasmModule) => void) => object {
  return (imports, receive) => {
    receive(new Wasm.Instance(module, imports), module);
    return {};
  };
}

function instanceOptions(): ReturnType<typeof moduleOptions> & { instantiateWasm?: ReturnType<typeof instantiateFrom> } {
  return wasmModule === null ? moduleOptions() : { ...moduleOptions(), instantiateWasm: instantiateFrom(wasmModule) };
}

/**
 * Load h5wasm: from the build's files when they fit, else as h5wasm ships. Measured (medians of
 * 6): h5wasm's start ~98 ms as shipped, ~83 ms with the binary from its file, ~70 ms with the
 * smaller JavaScript too; resident after it 76 -> 73 MB (and ~80 MB as shipped).
 */
async function load(): Promise<void> {
  const url = locateFactory();
  const pre = prebuiltFiles(url);
  openDiagnostics();
  if (pre !== null) {
    try {
      // Compiled on V8's background threads while the JavaScript loads.
      const [f, module] = await Promise.all([importFactory(pre.glue), Wasm.compile(readFileSync(pre.wasm))]);
      wasmModule = module;
      h5 = quietStderr(await f(instanceOptions()));
      factory = f;
      return;
    } catch {
      // The files do not fit this h5wasm after all: load it as it ships.
      wasmModule = null;
    }
  }
  const f = await importFactory(url);
  h5 = quietStderr(await f(moduleOptions()));
  factory = f;
}

function respawn(): void {
  if (!factory) return;
  respawning ??= factory(instanceOptions()).then(
    (m) => {
      h5 = quietStderr(m);
      poisoned = null;
      respawning = null;
    },
    () => {
      respawning = null;
    },
  );
}

/**
 * Resolves when the HDF5 library is usable. The first call loads it (h5wasm's WebAssembly
 * module): await it once before the first read. After a WebAssembly abort on a corrupt file a
 * fresh instance is created in the background; await this again before reading other files.
 */
export async function h5Ready(): Promise<void> {
  await (loading ??= load());
  await respawning;
}

/** Whether the HDF5 library has been loaded (`h5Ready`). */
export function h5Loaded(): boolean {
  return h5 !== undefined;
}

/** The current h5wasm module (raw bindings and heap); throws until `h5Ready()` has resolved. */
export function h5lib(): H5Module {
  if (!h5) {
    throw new CellbudgetError('USAGE', 'The h5ad reader is not loaded yet: HDF5 (a WebAssembly module) loads on first use.', {
      hint: "Call `await h5Ready()` (from 'cellbudget' or 'cellbudget/h5ad') once before the first read.",
    });
  }
  return h5;
}

/** Typed arrays hold numbers in the platform's byte order. */
const LITTLE_ENDIAN = endianness() === 'LE';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/**
 * Smallest dataset read straight from the file one by one: finding its bytes (filters, object
 * header, layout) costs more calls than one HDF5 read of a small dataset (431 embedding vectors
 * of 64 bytes: 39 ms of lookups). Embedding dictionaries are read whole instead: see
 * storedVectors.
 */
const DIRECT_MIN_BYTES = 64 * 1024;

/** WebAssembly memory one read window may take. */
export const WINDOW_BYTES = 8 * 1024 * 1024;

/** Filters h5wasm's build can decode (HDF5 ids): deflate, shuffle, fletcher32. */
const SUPPORTED_FILTERS = new Map<number, string>([
  [1, 'gzip'],
  [2, 'shuffle'],
  [3, 'fletcher32'],
]);
const KNOWN_FILTER_NAMES = new Map<number, string>([
  [4, 'szip'],
  [5, 'nbit'],
  [6, 'scaleoffset'],
  [32000, 'lzf'],
  [32001, 'blosc'],
  [32004, 'lz4'],
  [32008, 'bitshuffle'],
  [32015, 'zstd'],
  [32026, 'blosc2'],
]);

/** Current byte length of h5wasm's WebAssembly memory (it grows and never shrinks). */
export function wasmHeapBytes(): number {
  return h5 ? h5.HEAPU8.buffer.byteLength : 0;
}

/**
 * Grow h5wasm's WebAssembly heap by `bytes` and touch every page, then free the block: the
 * heap never shrinks and its allocator reuses the block, so later reads of up to that much
 * at a time (windows are at most WINDOW_BYTES) need no growth. A measuring child calls this
 * before its idle baseline, so the heap's growth to its window-bounded working size is part
 * of the baseline at every scale rather than a step that appears at some scales only.
 */
export function reserveWasmHeap(bytes: number): number {
  const lib = h5lib();
  const ptr = lib._malloc(bytes);
  if (ptr) {
    lib.HEAPU8.fill(0xa5, ptr, ptr + bytes);
    lib._free(ptr);
  }
  return wasmHeapBytes();
}

function isWasmAbort(e: unknown): boolean {
  if (e instanceof Error && e.name === 'RuntimeError') return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /^Aborted\(|unreachable|memory access out of bounds/.test(msg);
}

/** Instances killed by an abort: any further call into them would abort again. */
const dead = new WeakSet<H5Module>();

/**
 * Run a call into h5wasm instance `lib` and turn whatever it throws into a
 * CellbudgetError. A WebAssembly abort marks the instance dead and starts a fresh one.
 */
export function guard<T>(lib: H5Module, file: string, key: string, what: string, fn: () => T, code: ErrorCode = 'H5AD_INVALID'): T {
  if (dead.has(lib)) {
    throw new CellbudgetError(
      'FILE_UNREADABLE',
      `Cannot go on reading ${file}: the HDF5 library aborted on this file earlier (it is probably corrupt).`,
      { file, key, hint: 'Check or re-export the file; other files can be opened again (after `await h5Ready()`).' },
      { cause: poisoned },
    );
  }
  try {
    return fn();
  } catch (e) {
    if (isCellbudgetError(e)) throw e;
    if (isWasmAbort(e)) {
      dead.add(lib);
      if (lib === h5) {
        poisoned = e;
        respawn();
      }
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `The HDF5 library aborted while ${what} in ${file}: the file is probably corrupt.`,
        { file, key, hint: 'Re-export the file (e.g. with anndata write_h5ad) and check it with h5py.' },
        { cause: e },
      );
    }
    const reason = takeHdf5Reason();
    const msg = (e instanceof Error ? e.message : String(e)) + (reason ? ` (${reason})` : '');
    throw new CellbudgetError(
      code,
      `Failed while ${what} at '${key.replace(/^\//, '')}' in ${file}: ${msg.split('\n')[0] ?? msg}.`,
      { file, key: key.replace(/^\//, ''), hint: 'The file may be corrupt or not written by anndata; open it with h5py to check.' },
      { cause: e },
    );
  }
}

function readBytes(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

function readUint(buf: Buffer, offset: number, size: number): number | null {
  if (offset + size > buf.length) return null;
  let v = 0;
  let all = true;
  for (let i = size - 1; i >= 0; i--) {
    const b = buf[offset + i] ?? 0;
    if (b !== 0xff) all = false;
    v = v * 256 + b;
  }
  return all ? null : v; // all 0xff is HDF5's "undefined address"
}

/**
 * Check that `path` exists, starts with an HDF5 superblock (at 0, 512, 1024, ...) and is not
 * shorter than the end-of-file address the superblock records, so that h5wasm never opens
 * a file it would abort on for these reasons. Returns the absolute path.
 */
export function validateHdf5File(path: string): string {
  return inspectSuperblock(path).abs;
}

/** validateHdf5File, also returning what the superblock says about address sizes. */
export function inspectSuperblock(path: string): { abs: string; superblock: SuperblockInfo } {
  const abs = resolve(path);
  let size: number;
  try {
    const st = statSync(abs);
    if (!st.isFile()) {
      throw new CellbudgetError('FILE_NOT_FOUND', `${path} is not a regular file.`, {
        file: path,
        hint: 'Pass the path of an .h5ad file.',
      });
    }
    size = st.size;
  } catch (e) {
    if (isCellbudgetError(e)) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CellbudgetError('FILE_NOT_FOUND', `File not found: ${path}.`, {
        file: path,
        hint: 'Check the path (relative paths are resolved from the current directory).',
      });
    }
    throw new CellbudgetError(
      'FILE_UNREADABLE',
      `Cannot read ${path}: ${(e as Error).message}.`,
      { file: path, hint: 'Check its permissions.' },
      { cause: e },
    );
  }
  let superblock: SuperblockInfo = { base: 0, offsetSize: 8, lengthSize: 8 };
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch (e) {
    throw new CellbudgetError(
      'FILE_UNREADABLE',
      `Cannot open ${path}: ${(e as Error).message}.`,
      { file: path, hint: 'Check its permissions.' },
      { cause: e },
    );
  }
  try {
    let base = -1;
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      const sig = readBytes(fd, off, 8);
      if (HDF5_SIGNATURE.every((b, i) => sig[i] === b)) {
        base = off;
        break;
      }
    }
    if (base < 0) {
      throw new CellbudgetError('FILE_NOT_HDF5', `${path} is not an HDF5 file (no HDF5 signature found), so it cannot be an .h5ad file.`, {
        file: path,
        hint: 'Pass a file written by anndata (write_h5ad) or by `cellbudget synth`.',
      });
    }
    const sb = readBytes(fd, base, 128);
    const truncated = (): CellbudgetError =>
      new CellbudgetError('FILE_TRUNCATED', `${path} is truncated: it ends inside its HDF5 superblock (${size} bytes).`, {
        file: path,
        value: { size },
        hint: 'The copy or download was cut short; copy the file again.',
      });
    if (sb.length < 16) throw truncated();
    const version = sb[8];
    let eofOffset: number;
    let offsetSize: number | undefined;
    let lengthSize = 8;
    let baseOffset: number;
    if (version === 0 || version === 1) {
      offsetSize = sb[13];
      lengthSize = sb[14] ?? 8;
      baseOffset = version === 0 ? 24 : 28;
      eofOffset = baseOffset + 2 * (offsetSize ?? 0);
    } else if (version === 2 || version === 3) {
      offsetSize = sb[9];
      lengthSize = sb[10] ?? 8;
      baseOffset = 12;
      eofOffset = 12 + 2 * (offsetSize ?? 0);
    } else {
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `${path} has an HDF5 superblock of unknown version ${String(version)}: corrupt or written by an unsupported HDF5.`,
        {
          file: path,
          hint: 'Re-export the file with anndata or h5py.',
        },
      );
    }
    if (offsetSize !== 2 && offsetSize !== 4 && offsetSize !== 8) {
      throw new CellbudgetError('FILE_UNREADABLE', `${path} has a corrupt HDF5 superblock (offset size ${String(offsetSize)}).`, {
        file: path,
        hint: 'Re-export the file with anndata or h5py.',
      });
    }
    if (sb.length < eofOffset + offsetSize) throw truncated();
    const baseAddr = readUint(sb, baseOffset, offsetSize) ?? 0;
    superblock = { base: baseAddr, offsetSize, lengthSize };
    const eof = readUint(sb, eofOffset, offsetSize);
    if (eof === null) {
      throw new CellbudgetError(
        'FILE_TRUNCATED',
        `${path} is incomplete: its HDF5 superblock records no end of file (it was not closed after writing).`,
        {
          file: path,
          hint: 'Write the file again and let the writer finish.',
        },
      );
    }
    const needed = baseAddr + eof;
    if (size < needed) {
      throw new CellbudgetError('FILE_TRUNCATED', `${path} is truncated: it has ${size} bytes but its HDF5 superblock says ${needed}.`, {
        file: path,
        value: { size, expected: needed },
        hint: 'The copy or download was cut short; copy the file again.',
      });
    }
  } finally {
    closeSync(fd);
  }
  return { abs, superblock };
}

/** Join path parts into an absolute HDF5 path. */
export function h5path(parts: readonly string[]): string {
  return '/' + parts.filter((p) => p.length > 0).join('/');
}

/** What a path names inside a file. */
export type NodeKind = 'group' | 'dataset' | 'other';

/** An object reference read from an attribute or dataset. */
export interface H5Ref {
  readonly ref: Uint8Array;
}

/** A decoded attribute or small dataset value. */
export type H5Value = string | number | bigint | boolean | H5Ref | NumericOut | readonly (string | H5Ref)[] | Uint8Array;

/**
 * An open h5ad file. Obtain one with `withH5` (closes for you) or `H5File.open` (then
 * call `close()` in a finally).
 */
export class H5File {
  readonly path: string;
  private readonly lib: H5Module;
  private readonly fid: bigint;
  private closed = false;
  /** Per dataset path: file offset of its raw bytes when readable directly (see directOffset). */
  private readonly direct = new Map<string, number | null>();
  /** A plain file descriptor for direct reads, opened on first use. */
  private fd: number | null = null;

  private readonly abs: string;
  private readonly superblock: SuperblockInfo;

  private constructor(path: string, lib: H5Module, fid: bigint, abs: string, superblock: SuperblockInfo) {
    this.path = path;
    this.abs = abs;
    this.superblock = superblock;
    this.lib = lib;
    this.fid = fid;
  }

  /** Validate and open `path` read-only. */
  static open(path: string): H5File {
    const { abs, superblock } = inspectSuperblock(path);
    if (poisoned !== null) {
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `Cannot open ${path} yet: the HDF5 library is restarting after it aborted on a corrupt file.`,
        {
          file: path,
          hint: 'Await h5Ready() before opening another file.',
        },
      );
    }
    const lib = h5lib();
    const fid = guard(lib, path, '/', 'opening the file', () => lib.open(abs, lib.H5F_ACC_RDONLY, false, -1, -1), 'FILE_UNREADABLE');
    if (!(BigInt(fid) > 0n)) {
      const reason = takeHdf5Reason();
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `HDF5 could not open ${path}${reason ? ` (${reason})` : ''}: its structure is damaged.`,
        { file: path, hint: 'The file may be corrupt; open it with h5py to check, or re-export it.' },
      );
    }
    return new H5File(path, lib, BigInt(fid), abs, superblock);
  }

  /** Run `fn` on the open file and close it afterwards, also when `fn` throws. */
  with<T>(fn: (f: H5File) => T): T {
    try {
      return fn(this);
    } finally {
      this.close();
    }
  }

  private call<R>(key: string, what: string, fn: (lib: H5Module) => R, code?: ErrorCode): R {
    if (this.closed) {
      throw new CellbudgetError('USAGE', `${this.path} is already closed.`, { file: this.path, key, hint: 'Open it again.' });
    }
    return guard(this.lib, this.path, key, what, () => fn(this.lib), code);
  }

  /** What `path` names, or null when it does not exist. */
  kind(path: string): NodeKind | null {
    const t = this.call(path, 'looking up an element', (l) => l.get_type(this.fid, path));
    if (t === this.lib.H5G_GROUP) return 'group';
    if (t === this.lib.H5G_DATASET) return 'dataset';
    return t < 0 ? null : 'other';
  }

  /** Whether `path` exists. */
  has(path: string): boolean {
    return this.kind(path) !== null;
  }

  isGroup(path: string): boolean {
    return this.kind(path) === 'group';
  }

  /** Names under a group (H5AD_MISSING_KEY when absent). */
  keys(path: string): string[] {
    this.requireKind(path, 'group');
    return this.call(path, 'listing a group', (l) => l.get_names(this.fid, path, false));
  }

  /** Throw H5AD_MISSING_KEY / H5AD_INVALID unless `path` is a `want`. */
  requireKind(path: string, want: 'group' | 'dataset'): void {
    const k = this.kind(path);
    if (k === null) throw this.missing(path);
    if (k !== want) {
      throw new CellbudgetError('H5AD_INVALID', `'${path.replace(/^\//, '')}' in ${this.path} is not a ${want}.`, {
        file: this.path,
        key: path.replace(/^\//, ''),
        hint: 'The file does not follow the AnnData layout.',
      });
    }
  }

  /** An H5AD_MISSING_KEY error for `path`, listing what its deepest existing parent holds. */
  missing(path: string, what = 'element'): CellbudgetError {
    const parts = path.split('/').filter((p) => p.length > 0);
    let parent = '/';
    for (let depth = parts.length - 1; depth > 0; depth--) {
      const candidate = '/' + parts.slice(0, depth).join('/');
      if (this.quiet(() => this.kind(candidate)) === 'group') {
        parent = candidate;
        break;
      }
    }
    const siblings = this.quiet(() => this.lib.get_names(this.fid, parent, false)) ?? [];
    const rel = path.replace(/^\//, '');
    return new CellbudgetError('H5AD_MISSING_KEY', `${this.path} has no ${what} '${rel}'.`, {
      file: this.path,
      key: rel,
      hint: `'${parent}' holds: ${siblings.length ? siblings.join(', ') : '(nothing)'}.`,
    });
  }

  private quiet<R>(fn: () => R): R | null {
    try {
      return fn();
    } catch {
      return null;
    }
  }

  /** Attribute names of an object. */
  attrNames(path: string): string[] {
    return this.call(path, 'listing attributes', (l) => l.get_attribute_names(this.fid, path));
  }

  /** An attribute's value, or undefined when absent (null for an empty dataspace). */
  attr(path: string, name: string): H5Value | null | undefined {
    if (!this.attrNames(path).includes(name)) return undefined;
    const key = `${path}@${name}`;
    const meta = this.call(key, 'reading attribute metadata', (l) => l.get_attribute_metadata(this.fid, path, name));
    if (!meta.shape) return null;
    const nbytes = meta.size * meta.total_size;
    if (nbytes > 64 * 1024 * 1024) {
      throw new CellbudgetError('H5AD_INVALID', `Attribute '${name}' of '${path}' in ${this.path} claims ${nbytes} bytes.`, {
        file: this.path,
        key,
        hint: 'The file is probably corrupt.',
      });
    }
    const ptr = this.malloc(key, Math.max(1, nbytes));
    try {
      const status = this.call(key, 'reading an attribute', (l) => l.get_attribute_data(this.fid, path, name, BigInt(ptr)));
      if (status < 0)
        throw new CellbudgetError(
          'H5AD_INVALID',
          `HDF5 could not read attribute '${name}' of '${path}' in ${this.path} (${takeHdf5Reason() ?? 'no reason given'}).`,
          { file: this.path, key, hint: 'The file is probably corrupt.' },
        );
      try {
        return this.decode(key, meta, ptr, nbytes);
      } finally {
        if (meta.vlen || meta.type === T.VLEN)
          this.call(key, 'releasing string memory', (l) => l.reclaim_vlen_memory(this.fid, path, name, BigInt(ptr)));
      }
    } finally {
      this.lib._free(ptr);
    }
  }

  private malloc(key: string, nbytes: number): number {
    const ptr = this.call(key, 'allocating WebAssembly memory', (l) => l._malloc(nbytes));
    if (!ptr) {
      throw new CellbudgetError('FILE_UNREADABLE', `Cannot allocate ${nbytes} bytes of WebAssembly memory for '${key}' in ${this.path}.`, {
        file: this.path,
        key,
        hint: 'Read smaller windows or free memory.',
      });
    }
    return ptr;
  }

  /** Decode `nbytes` at `ptr` (heap) as `meta` says; scalars come back unwrapped. */
  private decode(key: string, meta: Metadata, ptr: number, nbytes: number): H5Value {
    const heap = this.lib.HEAPU8;
    const n = meta.total_size;
    const scalar = (meta.shape ?? []).length === 0;
    let out: H5Value;
    if (meta.type === T.STRING) {
      const strs: string[] = [];
      if (meta.vlen) {
        const ptrs = new Uint32Array(heap.buffer.slice(ptr, ptr + 4 * n));
        for (const p of ptrs) strs.push(p === 0 ? '' : meta.cset === 1 ? this.lib.UTF8ToString(p) : this.lib.AsciiToString(p));
      } else {
        const dec = new TextDecoder(meta.cset === 1 ? 'utf-8' : 'latin1');
        for (let i = 0; i < n; i++) {
          const bytes = heap.subarray(ptr + i * meta.size, ptr + (i + 1) * meta.size);
          const z = bytes.indexOf(0);
          strs.push(dec.decode(z >= 0 ? bytes.subarray(0, z) : bytes));
        }
      }
      out = scalar ? (strs[0] ?? '') : strs;
    } else if (meta.type === T.INTEGER || meta.type === T.FLOAT || meta.type === T.ENUM) {
      const Ctor = storedArrayType(meta, this.path, key);
      const arr = new Ctor(heap.buffer.slice(ptr, ptr + nbytes), 0, n);
      out = scalar ? (arr[0] ?? 0) : arr;
    } else if (meta.type === T.REFERENCE) {
      const refs: H5Ref[] = [];
      for (let i = 0; i < n; i++) refs.push({ ref: heap.slice(ptr + i * meta.size, ptr + (i + 1) * meta.size) });
      out = scalar ? (refs[0] ?? { ref: new Uint8Array() }) : refs;
    } else {
      out = heap.slice(ptr, ptr + nbytes);
    }
    return out;
  }

  /** A string attribute (e.g. `encoding-type`), or undefined. */
  strAttr(path: string, name: string): string | undefined {
    const v = this.attr(path, name);
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
    return undefined;
  }

  /** `encoding-type` of an element, or undefined (pre-0.7 files have none). */
  encoding(path: string): string | undefined {
    return this.strAttr(path, 'encoding-type');
  }

  /** The path an object reference points to, or undefined. */
  dereference(key: string, r: H5Ref): string | undefined {
    const name = this.call(key, 'following an object reference', (l) => l.get_referenced_name(this.fid, r.ref, true));
    return typeof name === 'string' && name.length > 0 ? name : undefined;
  }

  /** Dataset metadata (shape, type, chunks) without reading data. */
  metadata(path: string): Metadata {
    let meta: Metadata;
    try {
      meta = this.call(path, 'reading dataset metadata', (l) => l.get_dataset_metadata(this.fid, path));
    } catch (e) {
      // Missing, or not a dataset: say which (a lookup first would cost every read a call).
      if (isCellbudgetError(e) && e.code === 'H5AD_INVALID') this.requireKind(path, 'dataset');
      throw e;
    }
    if (!meta || typeof meta.size !== 'number' || !(meta.size > 0)) {
      throw new CellbudgetError('H5AD_INVALID', `'${path.replace(/^\//, '')}' in ${this.path} has an invalid datatype.`, {
        file: this.path,
        key: path,
        hint: 'The file is probably corrupt.',
      });
    }
    const dims = meta.shape ?? [];
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CellbudgetError(
        'H5AD_INVALID',
        `'${path.replace(/^\//, '')}' in ${this.path} declares an impossible shape ${JSON.stringify(dims)}.`,
        { file: this.path, key: path.replace(/^\//, ''), value: dims, hint: 'The file is probably corrupt; re-export it with anndata.' },
      );
    }
    return meta;
  }

  /**
   * Refuse to allocate what a declared shape asks for when it cannot fit this machine's
   * memory: an HDF5 dataset can declare 10^12 rows in a few kilobytes (unwritten chunks), and
   * the allocation would die as a RangeError or an abort instead of an input error.
   */
  checkFits(path: string, elements: number, itemBytes: number, what: string): void {
    const bytes = elements * itemBytes;
    const limit = memoryLimitBytes();
    if (!(Number.isSafeInteger(elements) && elements >= 0) || bytes > limit) {
      throw new CellbudgetError(
        'H5AD_INVALID',
        `'${path.replace(/^\//, '')}' in ${this.path} declares ${elements.toLocaleString('en-US')} ${what} (${formatBytes(bytes)} in memory), more than this machine's ${formatBytes(limit)} of memory.`,
        {
          file: this.path,
          key: path.replace(/^\//, ''),
          value: elements,
          hint: 'A shape that large is almost always a corrupt or hand-edited file: check it with h5py and re-export it with anndata.',
        },
      );
    }
  }

  /** File address of a dataset's object header (what an object reference holds), or null. */
  private headerAddress(path: string): number | null {
    const ref = this.quiet(() => this.call(path, 'referencing a dataset', (l) => l.create_object_reference(this.fid, path)));
    if (!ref || ref.length < this.superblock.offsetSize) return null;
    let addr = 0;
    for (let i = this.superblock.offsetSize - 1; i >= 0; i--) addr = addr * 256 + (ref[i] ?? 0);
    return addr;
  }

  /**
   * The members of group `path` that are float vectors stored as is (1-D, little-endian IEEE
   * float32/float64, contiguous, unfiltered), read straight from the file by name; other
   * members map to null. Null when the group's format is not one we parse (see groupVectors):
   * then HDF5 reads every member.
   */
  storedVectors(path: string): Map<string, StoredVector | null> | null {
    if (!LITTLE_ENDIAN) return null;
    const addr = this.headerAddress(path);
    return addr === null ? null : groupVectors(this.abs, addr, this.superblock);
  }

  /** Bytes a dataset takes on disk (its chunks or contiguous block), or null when unknown. */
  storageBytes(path: string): number | null {
    const addr = this.headerAddress(path);
    return addr === null ? null : datasetStorageBytes(this.abs, addr, this.superblock);
  }

  /**
   * Where an uncompressed contiguous dataset's bytes start in the file, when they can be read
   * straight from disk: contiguous layout, allocated, in this file, no filters, little-endian
   * numbers (as the platform's typed arrays). Otherwise null: HDF5 reads it.
   */
  private directOffset(path: string, meta: Metadata): number | null {
    let hit = this.direct.get(path);
    if (hit === undefined) {
      hit = null;
      if (
        meta.chunks === null &&
        meta.littleEndian &&
        LITTLE_ENDIAN &&
        (meta.type === T.FLOAT || meta.type === T.INTEGER) &&
        this.filters(path).length === 0
      ) {
        const addr = this.headerAddress(path);
        const layout = addr === null ? null : datasetLayout(this.abs, addr, this.superblock);
        const bytes = meta.total_size * meta.size;
        if (layout?.kind === 'contiguous' && !layout.external && layout.address !== null && layout.size >= bytes) hit = layout.address;
      }
      this.direct.set(path, hit);
    }
    return hit;
  }

  /**
   * The file and offset of a dataset's bytes when they can be read straight from disk (see
   * directOffset) and the file holds all of them; otherwise null.
   */
  directRegion(path: string, meta: Metadata): { file: string; offset: number } | null {
    const offset = this.directOffset(path, meta);
    if (offset === null) return null;
    try {
      if (statSync(this.abs).size < offset + meta.total_size * meta.size) return null;
    } catch {
      return null;
    }
    return { file: this.abs, offset };
  }

  /** Filters of a dataset. */
  filters(path: string): Filter[] {
    return this.call(path, 'reading dataset filters', (l) => l.get_dataset_filters(this.fid, path));
  }

  /** Refuse datasets compressed with filters h5wasm's build lacks (lzf, blosc, ...). */
  checkFilters(path: string): string[] {
    const names: string[] = [];
    for (const f of this.filters(path)) {
      const known = SUPPORTED_FILTERS.get(f.id);
      if (known === undefined) {
        const name = KNOWN_FILTER_NAMES.get(f.id) ?? (f.name || `filter ${f.id}`);
        throw new CellbudgetError(
          'H5AD_UNSUPPORTED_FILTER',
          `'${path.replace(/^\//, '')}' in ${this.path} is compressed with ${name} (HDF5 filter ${f.id}), which cellbudget cannot decode (gzip/deflate, shuffle and fletcher32 are supported).`,
          {
            file: this.path,
            key: path.replace(/^\//, ''),
            value: name,
            hint: "Rewrite the file with gzip or no compression, e.g. in Python: `ad = anndata.read_h5ad(path); ad.write_h5ad(out, compression='gzip')`.",
          },
        );
      }
      names.push(known);
    }
    return names;
  }

  /**
   * Read rows [start, end) of a 1-D or 2-D numeric dataset into `out` (from `outOffset`),
   * in windows of at most `maxWindowBytes` of WebAssembly memory aligned to the chunk rows.
   * `out` may have another numeric type than the file: values are converted.
   */
  readRowsInto(
    path: string,
    meta: Metadata,
    start: number,
    end: number,
    out: NumericOut,
    outOffset = 0,
    maxWindowBytes = WINDOW_BYTES,
  ): void {
    const shape = meta.shape ?? [];
    const nRows = shape[0] ?? 0;
    if (start < 0 || end > nRows || start > end) {
      throw new CellbudgetError('USAGE', `Row window [${start}, ${end}) is outside '${path}' in ${this.path}, which has ${nRows} rows.`, {
        file: this.path,
        key: path,
        hint: `Ask for rows within [0, ${nRows}).`,
      });
    }
    if (start === end) return;
    const Stored = storedArrayType(meta, this.path, path);
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = Math.max(1, rowElems * meta.size);
    if (out instanceof Stored && meta.total_size * meta.size >= DIRECT_MIN_BYTES) {
      // Uncompressed contiguous data of the same type: read the bytes from the file straight
      // into `out`, skipping HDF5, the WebAssembly heap and the copy out of it.
      const offset = this.directOffset(path, meta);
      if (offset !== null) {
        this.readDirect(
          path,
          offset + start * rowBytes,
          new Uint8Array(out.buffer, out.byteOffset + outOffset * meta.size, (end - start) * rowBytes),
        );
        return;
      }
    }
    const chunkRows = meta.chunks?.[0] ?? 1;
    // Windows aligned to the chunk grid: each get_dataset_data call reopens the dataset, and
    // a window that cuts a compressed chunk makes HDF5 inflate that chunk twice.
    let step = Math.floor(maxWindowBytes / rowBytes / chunkRows) * chunkRows;
    if (step < 1) step = Math.max(1, Math.min(chunkRows, Math.floor(maxWindowBytes / rowBytes)) || 1);
    const cap = Math.min(end - start, step) * rowBytes;
    const ptr = this.malloc(path, cap);
    try {
      let a = start;
      while (a < end) {
        const b = Math.min(end, (Math.floor(a / step) + 1) * step);
        const count = [BigInt(b - a), ...shape.slice(1).map((d) => BigInt(d))];
        const offset = [BigInt(a), ...shape.slice(1).map(() => 0n)];
        const strides = shape.map(() => 1n);
        const status = this.call(path, 'reading data', (l) => l.get_dataset_data(this.fid, path, count, offset, strides, BigInt(ptr)));
        if (status < 0) throw this.unreadable(path, `rows ${a}..${b}`);
        const n = (b - a) * rowElems;
        // View the heap only now: a malloc may have grown (and replaced) its buffer.
        const view = new Stored(this.lib.HEAPU8.buffer, ptr, n);
        const at = outOffset + (a - start) * rowElems;
        copyInto(out, at, view);
        a = b;
      }
    } finally {
      this.lib._free(ptr);
    }
  }

  private readDirect(path: string, position: number, into: Uint8Array): void {
    try {
      this.fd ??= openSync(this.abs, 'r');
      let done = 0;
      while (done < into.length) {
        const n = readSync(this.fd, into, done, into.length - done, position + done);
        if (n <= 0) break;
        done += n;
      }
      if (done !== into.length) {
        throw new CellbudgetError(
          'FILE_TRUNCATED',
          `${this.path} ends inside '${path.replace(/^\//, '')}': ${into.length - done} of its bytes are missing.`,
          {
            file: this.path,
            key: path.replace(/^\//, ''),
            hint: 'The copy or download was cut short; copy the file again.',
          },
        );
      }
    } catch (e) {
      if (isCellbudgetError(e)) throw e;
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `Cannot read ${this.path}: ${(e as Error).message}.`,
        { file: this.path, key: path.replace(/^\//, ''), hint: 'Check the file and its permissions.' },
        { cause: e },
      );
    }
  }

  /** A whole 1-D numeric dataset as its own typed array type, read in bounded windows. */
  readNumeric1D(path: string, meta: Metadata = this.metadata(path)): NumericOut {
    const Stored = storedArrayType(meta, this.path, path);
    const n = (meta.shape ?? []).reduce((a, b) => a * b, 1);
    this.checkFits(path, n, meta.size, 'values');
    const out = new Stored(n);
    if ((meta.shape ?? []).length === 0) {
      // scalar
      this.readScalarInto(path, out);
      return out;
    }
    this.readRowsInto(path, meta, 0, meta.shape?.[0] ?? 0, out);
    return out;
  }

  private readScalarInto(path: string, out: NumericOut): void {
    const v = this.readWhole(path, this.metadata(path));
    if (typeof v === 'number' || typeof v === 'bigint') (out as { [i: number]: number | bigint })[0] = v;
  }

  /** A small dataset read whole and decoded (scalars, short string lists). */
  private readWhole(path: string, meta: Metadata): H5Value {
    const nbytes = meta.size * meta.total_size;
    const ptr = this.malloc(path, Math.max(1, nbytes));
    try {
      const status = this.call(path, 'reading data', (l) => l.get_dataset_data(this.fid, path, null, null, null, BigInt(ptr)));
      if (status < 0) throw this.unreadable(path, 'its data');
      try {
        return this.decode(path, meta, ptr, nbytes);
      } finally {
        if (meta.vlen) this.call(path, 'releasing string memory', (l) => l.reclaim_vlen_memory(this.fid, path, '', BigInt(ptr)));
      }
    } finally {
      this.lib._free(ptr);
    }
  }

  private unreadable(path: string, what: string): CellbudgetError {
    const reason = takeHdf5Reason();
    return new CellbudgetError(
      'H5AD_INVALID',
      `HDF5 could not read ${what} of '${path.replace(/^\//, '')}' in ${this.path}${reason ? ` (${reason})` : ''}: the data is corrupt or uses an unsupported filter.`,
      {
        file: this.path,
        key: path.replace(/^\//, ''),
        hint: 'Check the file with h5py; re-export it with anndata if it reads there.',
      },
    );
  }

  /**
   * Strings [start, end) of a 1-D string dataset (variable or fixed length), in one read:
   * for copying a string column window by window (the caller bounds `end - start`).
   */
  readStringRange(path: string, meta: Metadata, start: number, end: number): string[] {
    const n = meta.shape?.[0] ?? 0;
    if (meta.type !== T.STRING || (meta.shape ?? []).length !== 1 || start < 0 || end > n || start > end) {
      throw new CellbudgetError(
        'USAGE',
        `Strings [${start}, ${end}) are not a window of the 1-D string dataset '${path}' in ${this.path}.`,
        {
          file: this.path,
          key: path,
          hint: `Ask for a window within [0, ${n}) of a one-dimensional string dataset.`,
        },
      );
    }
    if (start === end) return [];
    const count = [BigInt(end - start)];
    const ptr = this.malloc(path, (end - start) * meta.size);
    try {
      const status = this.call(path, 'reading strings', (l) =>
        l.get_dataset_data(this.fid, path, count, [BigInt(start)], [1n], BigInt(ptr)),
      );
      if (status < 0) throw this.unreadable(path, `strings ${start}..${end}`);
      try {
        return this.decode(path, { ...meta, shape: [end - start], total_size: end - start }, ptr, (end - start) * meta.size) as string[];
      } finally {
        if (meta.vlen)
          this.call(path, 'releasing string memory', (l) => l.reclaim_vlen_memory_count(this.fid, path, '', BigInt(ptr), count));
      }
    } finally {
      this.lib._free(ptr);
    }
  }

  /**
   * A small dataset's whole value, decoded (a scalar unwrapped, strings as a list, numbers as
   * their stored typed array); refused beyond 64 MiB, which only windowed reads should take.
   */
  readSmall(path: string, meta: Metadata = this.metadata(path)): H5Value {
    this.checkSmall(path, meta.size * meta.total_size);
    return this.readWhole(path, meta);
  }

  /** An attribute's HDF5 metadata (type, size, shape; a null shape for an empty dataspace), or undefined when absent. */
  attrMetadata(path: string, name: string): Metadata | undefined {
    if (!this.attrNames(path).includes(name)) return undefined;
    return this.call(`${path}@${name}`, 'reading attribute metadata', (l) => l.get_attribute_metadata(this.fid, path, name));
  }

  private checkSmall(path: string, nbytes: number): void {
    if (nbytes > 64 * 1024 * 1024) {
      throw new CellbudgetError(
        'USAGE',
        `'${path.replace(/^\//, '')}' in ${this.path} holds ${formatBytes(nbytes)}: too large to read whole.`,
        {
          file: this.path,
          key: path.replace(/^\//, ''),
          hint: 'Read it in row windows (readRowsInto, readStringRange).',
        },
      );
    }
  }

  /** A string dataset (variable or fixed length), read in windows of rows. */
  readStrings(path: string, meta: Metadata = this.metadata(path), start = 0, end?: number): string[] {
    if (meta.type !== T.STRING) {
      throw new CellbudgetError('H5AD_UNSUPPORTED_DTYPE', `'${path.replace(/^\//, '')}' in ${this.path} is not a string dataset.`, {
        file: this.path,
        key: path,
        hint: 'The file does not follow the AnnData layout.',
      });
    }
    const shape = meta.shape ?? [];
    if (shape.length === 0) return [String(this.readWhole(path, meta))];
    if (shape.length !== 1)
      throw new CellbudgetError('H5AD_INVALID', `String dataset '${path.replace(/^\//, '')}' in ${this.path} is not one-dimensional.`, {
        file: this.path,
        key: path,
      });
    const rows = shape[0] ?? 0;
    const stop = end ?? rows;
    if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop > rows || start > stop) {
      throw new CellbudgetError('USAGE', `Strings [${start}, ${stop}) are outside '${path}' in ${this.path}, which has ${rows}.`, {
        file: this.path,
        key: path,
        hint: `Ask for strings within [0, ${rows}].`,
      });
    }
    const n = stop - start;
    // A JS string costs at least ~16 bytes beside its characters.
    this.checkFits(path, n, 16 + meta.size, 'strings');
    const out: string[] = new Array<string>(n);
    const step = 1 << 16;
    const ptr = this.malloc(path, Math.max(1, Math.min(n, step) * meta.size));
    try {
      for (let a = start; a < stop; a += step) {
        const b = Math.min(stop, a + step);
        const count = [BigInt(b - a)];
        const status = this.call(path, 'reading strings', (l) => l.get_dataset_data(this.fid, path, count, [BigInt(a)], [1n], BigInt(ptr)));
        if (status < 0) throw this.unreadable(path, `strings ${a}..${b}`);
        try {
          const part = this.decode(path, { ...meta, shape: [b - a], total_size: b - a }, ptr, (b - a) * meta.size) as string[];
          for (let i = 0; i < part.length; i++) out[a - start + i] = part[i] ?? '';
        } finally {
          if (meta.vlen)
            this.call(path, 'releasing string memory', (l) => l.reclaim_vlen_memory_count(this.fid, path, '', BigInt(ptr), count));
        }
      }
    } finally {
      this.lib._free(ptr);
    }
    return out;
  }

  /** Close the file. Idempotent; after an abort the handle dies with its instance. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    if (dead.has(this.lib)) return;
    try {
      this.lib.close_file(this.fid);
    } catch {
      // Nothing left to release that we could reach.
    }
  }
}

/** Open `path`, run `fn`, and close the file whatever happens. */
export function withH5<T>(path: string, fn: (f: H5File) => T): T {
  return H5File.open(path).with(fn);
}

export type NumericOut =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type NumericCtor = {
  new (length: number): NumericOut;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericOut;
};

/** The typed array type of a numeric (or enum-over-integer) dataset. */
export function storedArrayType(meta: Metadata, file: string, key: string): NumericCtor {
  let type = meta.type;
  if (type === T.ENUM) type = meta.enum_type?.type ?? T.INTEGER;
  if (type === T.INTEGER) {
    switch (meta.size) {
      case 1:
        return meta.signed ? Int8Array : Uint8Array;
      case 2:
        return meta.signed ? Int16Array : Uint16Array;
      case 4:
        return meta.signed ? Int32Array : Uint32Array;
      case 8:
        return meta.signed ? BigInt64Array : BigUint64Array;
    }
  } else if (type === T.FLOAT) {
    if (meta.size === 4) return Float32Array;
    if (meta.size === 8) return Float64Array;
  }
  throw new CellbudgetError(
    'H5AD_UNSUPPORTED_DTYPE',
    `'${key.replace(/^\//, '')}' in ${file} has a datatype cellbudget cannot read as numbers (${describeDtype(meta)}).`,
    {
      file,
      key: key.replace(/^\//, ''),
      hint: 'Convert it to float32/float64 or an integer type, e.g. with anndata.',
    },
  );
}

/** numpy-style name of a dataset's type: float32, int8, bool, string, ... */
export function describeDtype(meta: Metadata): string {
  if (meta.type === T.ENUM) {
    const names = Object.keys(meta.enum_type?.members ?? {});
    return names.length === 2 && names.includes('FALSE') && names.includes('TRUE') ? 'bool' : `enum(${names.join(',')})`;
  }
  if (meta.type === T.INTEGER) return `${meta.signed ? 'int' : 'uint'}${meta.size * 8}`;
  if (meta.type === T.FLOAT) return `float${meta.size * 8}`;
  if (meta.type === T.STRING) return meta.vlen ? 'string' : `string${meta.size}`;
  if (meta.type === T.COMPOUND) return 'compound';
  if (meta.type === T.REFERENCE) return 'reference';
  return `hdf5-class-${meta.type}`;
}

function copyInto(out: NumericOut, at: number, view: NumericOut): void {
  const outBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const viewBig = view instanceof BigInt64Array || view instanceof BigUint64Array;
  if (outBig === viewBig) {
    (out as Float64Array).set(view as unknown as Float64Array, at);
    return;
  }
  if (viewBig) {
    const o = out as Float64Array;
    for (let i = 0; i < view.length; i++) o[at + i] = Number(view[i] as bigint);
  } else {
    const o = out as BigInt64Array;
    for (let i = 0; i < view.length; i++) o[at + i] = BigInt(Math.trunc(view[i] as number));
  }
}

let machineMemory: number | undefined;

/**
 * The most one read may allocate: this machine's memory (a cgroup limit below it is not seen).
 * Asked once: it does not change while the process runs, and each ask is a system call.
 */
export function memoryLimitBytes(): number {
  return (machineMemory ??= totalmem());
}
