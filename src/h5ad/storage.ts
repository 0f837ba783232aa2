/**
 * Bytes a dataset takes on disk. h5wasm does not expose H5Dget_storage_size, so we read
 * the dataset's object header ourselves (its address is what an HDF5 object reference
 * holds) and sum the chunk sizes of its version-1 B-tree chunk index (what h5py and anndata
 * write by default), or take a contiguous layout's size. Other layouts answer null.
 * Every read is bounds-checked: a corrupt file gives null, never a throw or a loop.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface SuperblockInfo {
  /** Base address: file addresses are relative to it. */
  readonly base: number;
  readonly offsetSize: number;
  readonly lengthSize: number;
}

const MAX_NODES = 1_000_000;

// Reads go through 64 KiB pages: the headers, B-tree nodes and small datasets of one group
// lie close together, so a few page reads serve hundreds of small ones.
const PAGE_BYTES = 1 << 16;
const MAX_PAGES = 256;

class Reader {
  private nodes = 0;
  private readonly pages = new Map<number, Buffer>();
  constructor(
    private readonly fd: number,
    private readonly sb: SuperblockInfo,
  ) {}

  /** `n` bytes at file address `addr` (relative to the base), or null when the file does not hold them all. Read-only: it may be a view of a cached page. */
  bytes(addr: number, n: number): Buffer | null {
    if (!Number.isSafeInteger(addr) || addr < 0 || n <= 0 || n > 1 << 24) return null;
    const at = this.sb.base + addr;
    if (!Number.isSafeInteger(at + n)) return null;
    const first = Math.floor(at / PAGE_BYTES);
    const last = Math.floor((at + n - 1) / PAGE_BYTES);
    if (first === last) {
      const page = this.page(first);
      const from = at - first * PAGE_BYTES;
      return page !== null && from + n <= page.length ? page.subarray(from, from + n) : null;
    }
    const b = Buffer.alloc(n);
    const got = readSync(this.fd, b, 0, n, at);
    return got === n ? b : null;
  }

  private page(index: number): Buffer | null {
    let p = this.pages.get(index);
    if (p === undefined) {
      if (this.pages.size >= MAX_PAGES) this.pages.clear();
      const b = Buffer.alloc(PAGE_BYTES);
      const got = readSync(this.fd, b, 0, PAGE_BYTES, index * PAGE_BYTES);
      p = b.subarray(0, got);
      this.pages.set(index, p);
    }
    return p.length > 0 ? p : null;
  }

  uint(b: Buffer, at: number, size: number): number | null {
    if (at + size > b.length) return null;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (b[at + i] ?? 0);
    return Number.isSafeInteger(v) ? v : null;
  }

  tick(): boolean {
    return ++this.nodes <= MAX_NODES;
  }
}

interface Message {
  readonly type: number;
  /** Bit 1: the message is shared (stored elsewhere; `data` only points at it). */
  readonly flags: number;
  readonly data: Buffer;
}

/** Messages of an object header (v1 or v2), following continuation blocks. */
function headerMessages(r: Reader, addr: number, sb: SuperblockInfo): Message[] | null {
  const out: Message[] = [];
  const first = r.bytes(addr, 16);
  if (!first) return null;
  const O = sb.offsetSize;
  const L = sb.lengthSize;
  const blocks: { addr: number; len: number; v2: boolean; chk: boolean }[] = [];
  let v2 = false;
  let flags = 0;
  if (first.toString('latin1', 0, 4) === 'OHDR') {
    v2 = true;
    const head = r.bytes(addr, 64);
    if (head?.[4] !== 2) return null;
    flags = head[5] ?? 0;
    let at = 6;
    if (flags & 0x20) at += 16;
    if (flags & 0x10) at += 4;
    const sizeBytes = 1 << (flags & 0x03);
    const len = r.uint(head, at, sizeBytes);
    if (len === null) return null;
    at += sizeBytes;
    blocks.push({ addr: addr + at, len, v2: true, chk: false });
  } else {
    if (first[0] !== 1) return null;
    const len = r.uint(first, 8, 4);
    if (len === null) return null;
    blocks.push({ addr: addr + 16, len, v2: false, chk: false });
  }
  while (blocks.length > 0) {
    if (!r.tick()) return null;
    const blk = blocks.shift()!;
    const buf = r.bytes(blk.addr, blk.len);
    if (!buf) return null;
    let at = blk.chk ? 4 : 0; // "OCHK" signature
    const end = blk.v2 ? buf.length - 4 : buf.length; // v2 blocks end with a checksum
    while (at < end) {
      let type: number | null;
      let size: number | null;
      let mflags: number;
      if (blk.v2) {
        if (at + 4 > end) break;
        type = buf[at] ?? null;
        size = r.uint(buf, at + 1, 2);
        mflags = buf[at + 3] ?? 0;
        at += 4 + (flags & 0x04 ? 2 : 0);
      } else {
        type = r.uint(buf, at, 2);
        size = r.uint(buf, at + 2, 2);
        mflags = buf[at + 4] ?? 0;
        at += 8;
      }
      if (type === null || size === null || at + size > buf.length) return null;
      const data = buf.subarray(at, at + size);
      at += blk.v2 ? size : Math.ceil(size / 8) * 8;
      if (type === 0x10) {
        const caddr = r.uint(data, 0, O);
        const clen = r.uint(data, O, L);
        if (caddr === null || clen === null) return null;
        blocks.push({ addr: caddr, len: clen, v2, chk: v2 });
      } else {
        out.push({ type, flags: mflags, data });
      }
    }
  }
  return out;
}

/**
 * A version-1 B-tree node ("TREE") of `type` (0: a group's, 1: raw data chunks') whose keys
 * take `keySize` bytes: its level, its body (keys and children alternate, with one key more:
 * entry i's key at i × (keySize + offset size)) and its children's addresses; null when it
 * does not parse.
 */
function btreeNode(
  r: Reader,
  addr: number,
  type: number,
  keySize: number,
  sb: SuperblockInfo,
): { level: number; body: Buffer; children: number[] } | null {
  const O = sb.offsetSize;
  const head = r.bytes(addr, 8 + 2 * O);
  if (head?.toString('latin1', 0, 4) !== 'TREE' || head[4] !== type) return null;
  const level = head[5] ?? 0;
  const entries = r.uint(head, 6, 2);
  if (entries === null) return null;
  const body = r.bytes(addr + 8 + 2 * O, entries * (keySize + O) + keySize);
  if (!body) return null;
  const children: number[] = [];
  for (let i = 0; i < entries; i++) {
    const child = r.uint(body, i * (keySize + O) + keySize, O);
    if (child === null) return null;
    children.push(child);
  }
  return { level, body, children };
}

/** Sum of chunk sizes under a version-1 B-tree (raw data chunks) node. */
function btreeChunkBytes(r: Reader, addr: number, dims: number, sb: SuperblockInfo, depth = 0): number | null {
  if (depth > 64 || !r.tick()) return null;
  const keySize = 8 + 8 * dims;
  const node = btreeNode(r, addr, 1, keySize, sb);
  if (node === null) return null;
  let total = 0;
  for (let i = 0; i < node.children.length; i++) {
    if (node.level === 0) {
      const size = r.uint(node.body, i * (keySize + sb.offsetSize), 4);
      if (size === null) return null;
      total += size;
    } else {
      const sub = btreeChunkBytes(r, node.children[i]!, dims, sb, depth + 1);
      if (sub === null) return null;
      total += sub;
    }
  }
  return total;
}

/** Where a dataset's raw data lives, as its layout message says. */
export type StorageLayout =
  | { readonly kind: 'compact'; readonly size: number }
  /** `address` null: nothing allocated yet (the fill value). Addresses are absolute file offsets. */
  | { readonly kind: 'contiguous'; readonly address: number | null; readonly size: number; readonly external: boolean }
  | { readonly kind: 'chunked-btree1'; readonly btreeAddress: number | null; readonly dimensionality: number };

/**
 * The layout of the dataset whose object header is at `headerAddr`, or null when it is one
 * we do not parse (other chunk indexes, virtual datasets). `external`: the data lives in
 * other files (an external file list), so `address` is not an offset in this one.
 */
export function datasetLayout(file: string, headerAddr: number, sb: SuperblockInfo): StorageLayout | null {
  return withReader(file, sb, (r) => layoutOf(r, headerAddr, sb));
}

/** `fn` over a Reader of `file`, which is closed afterwards; null when the file cannot be opened or `fn` throws (a layout we cannot parse). */
function withReader<T>(file: string, sb: SuperblockInfo, fn: (r: Reader) => T | null): T | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    return fn(new Reader(fd, sb));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function layoutOf(r: Reader, headerAddr: number, sb: SuperblockInfo): StorageLayout | null {
  const msgs = headerMessages(r, headerAddr, sb);
  if (!msgs) return null;
  const layout = msgs.find((m) => m.type === 0x08)?.data;
  if (!layout) return null;
  const version = layout[0];
  const cls = layout[1];
  const O = sb.offsetSize;
  const L = sb.lengthSize;
  if (version !== 3 && version !== 4) return null;
  if (cls === 0) {
    const size = r.uint(layout, 2, 2);
    return size === null ? null : { kind: 'compact', size };
  }
  if (cls === 1) {
    const addr = r.uint(layout, 2, O);
    const size = r.uint(layout, 2 + O, L);
    if (size === null) return null;
    return { kind: 'contiguous', address: addr === null ? null : sb.base + addr, size, external: msgs.some((m) => m.type === 0x07) };
  }
  if (cls === 2 && version === 3) {
    const dimensionality = layout[2] ?? 0;
    const addr = r.uint(layout, 3, O);
    return { kind: 'chunked-btree1', btreeAddress: addr, dimensionality };
  }
  return null;
}

/** Bytes on disk of the dataset whose object header is at `headerAddr`, or null when unknown. */
export function datasetStorageBytes(file: string, headerAddr: number, sb: SuperblockInfo): number | null {
  return withReader(file, sb, (r) => {
    const l = layoutOf(r, headerAddr, sb);
    if (l === null) return null;
    if (l.kind === 'compact') return l.size; // stored in the header
    if (l.kind === 'contiguous') return l.address === null ? 0 : l.size; // undefined address: nothing allocated
    if (l.btreeAddress === null) return 0; // no chunk written yet
    return btreeChunkBytes(r, l.btreeAddress, l.dimensionality, sb);
  });
}

/** A float vector as stored in the file: read straight from its bytes, as HDF5 would read it. */
export type StoredVector = Float32Array | Float64Array;

/**
 * The children of the group whose object header is at `groupAddr`, when it is an old-style
 * group (a symbol table: what h5py and anndata write by default): name -> its values when it
 * is a float vector stored as is (see vectorAt), else null (soft links, other datatypes,
 * filters, ...: HDF5 reads those). Null when the group is in another format or does not
 * parse. One open of the file, a few page reads: for `uns` embedding dictionaries, where
 * reading hundreds of tiny datasets through HDF5 costs ~0.1-0.2 ms each.
 */
export function groupVectors(file: string, groupAddr: number, sb: SuperblockInfo): Map<string, StoredVector | null> | null {
  return withReader(file, sb, (r) => {
    const entries = symbolTableEntries(r, groupAddr, sb);
    if (entries === null) return null;
    const out = new Map<string, StoredVector | null>();
    for (const [name, addr] of entries) out.set(name, addr === null ? null : vectorAt(r, addr, sb));
    return out;
  });
}

/** Name -> object header address (null: a soft link) of every entry of a symbol-table group. */
function symbolTableEntries(r: Reader, groupAddr: number, sb: SuperblockInfo): Map<string, number | null> | null {
  const stab = only(headerMessages(r, groupAddr, sb), 0x11);
  if (stab === null) return null;
  const O = sb.offsetSize;
  const L = sb.lengthSize;
  const btree = r.uint(stab, 0, O);
  const heap = r.uint(stab, O, O);
  if (btree === null || heap === null) return null;
  // The local heap holds the names, NUL-terminated.
  const h = r.bytes(heap, 8 + 2 * L + O);
  if (h?.toString('latin1', 0, 4) !== 'HEAP' || h[4] !== 0) return null;
  const heapSize = r.uint(h, 8, L);
  const heapData = r.uint(h, 8 + 2 * L, O);
  if (heapSize === null || heapData === null) return null;
  const names = r.bytes(heapData, heapSize);
  if (!names) return null;
  const out = new Map<string, number | null>();
  return groupNode(r, btree, names, out, sb, 0) ? out : null;
}

/** A version-1 B-tree node of a group (type 0): its symbol-table nodes, in order. */
function groupNode(r: Reader, addr: number, names: Buffer, out: Map<string, number | null>, sb: SuperblockInfo, depth: number): boolean {
  if (depth > 64 || !r.tick()) return false;
  // A group's keys are offsets into its local heap (length-size bytes).
  const node = btreeNode(r, addr, 0, sb.lengthSize, sb);
  if (node === null) return false;
  for (const child of node.children) {
    if (!(node.level > 0 ? groupNode(r, child, names, out, sb, depth + 1) : symbolNode(r, child, names, out, sb))) return false;
  }
  return true;
}

/** A symbol-table node ("SNOD"): its entries' names and object header addresses. */
function symbolNode(r: Reader, addr: number, names: Buffer, out: Map<string, number | null>, sb: SuperblockInfo): boolean {
  if (!r.tick()) return false;
  const O = sb.offsetSize;
  const head = r.bytes(addr, 8);
  if (head?.toString('latin1', 0, 4) !== 'SNOD' || head[4] !== 1) return false;
  const n = r.uint(head, 6, 2);
  if (n === null) return false;
  if (n === 0) return true;
  const size = 2 * O + 24; // name offset, header address, cache type, reserved, scratch pad
  const body = r.bytes(addr + 8, n * size);
  if (!body) return false;
  for (let i = 0; i < n; i++) {
    const at = i * size;
    const nameAt = r.uint(body, at, O);
    const header = r.uint(body, at + O, O); // null: the undefined address (a soft link has none)
    const cache = r.uint(body, at + 2 * O, 4);
    if (nameAt === null || cache === null || nameAt >= names.length) return false;
    const end = names.indexOf(0, nameAt);
    if (end < 0) return false;
    out.set(names.toString('utf8', nameAt, end), cache === 2 ? null : header);
  }
  return true;
}

/** The data of the one unshared message of `type`, or null (none, several, shared, or no header). */
function only(msgs: readonly Message[] | null, type: number): Buffer | null {
  if (msgs === null) return null;
  let found: Message | null = null;
  for (const m of msgs) {
    if (m.type !== type) continue;
    if (found !== null) return null;
    found = m;
  }
  return found !== null && !(found.flags & 0x02) ? found.data : null;
}

/**
 * The values of the dataset whose header is at `addr` when it is a 1-D vector of
 * little-endian IEEE float32 or float64, contiguous, allocated and unfiltered in this file;
 * else null.
 */
function vectorAt(r: Reader, addr: number, sb: SuperblockInfo): StoredVector | null {
  const msgs = headerMessages(r, addr, sb);
  if (msgs === null || msgs.some((m) => m.type === 0x07 || m.type === 0x0b)) return null; // external files, filters
  const space = only(msgs, 0x01);
  const type = only(msgs, 0x03);
  const layout = only(msgs, 0x08);
  if (space === null || type === null || layout === null) return null;
  const n = vectorLength(r, space, sb);
  const item = ieeeFloatSize(r, type);
  if (n === null || n === 0 || item === null) return null;
  if ((layout[0] !== 3 && layout[0] !== 4) || layout[1] !== 1) return null; // contiguous
  const address = r.uint(layout, 2, sb.offsetSize);
  const size = r.uint(layout, 2 + sb.offsetSize, sb.lengthSize);
  const bytes = n * item;
  if (address === null || size === null || size < bytes) return null;
  const raw = r.bytes(address, bytes);
  if (!raw) return null;
  const out = item === 4 ? new Float32Array(n) : new Float64Array(n);
  new Uint8Array(out.buffer).set(raw);
  return out;
}

/** Elements of a rank-1 simple dataspace, or null. */
function vectorLength(r: Reader, space: Buffer, sb: SuperblockInfo): number | null {
  const version = space[0];
  const rank = space[1];
  if (rank !== 1) return null;
  if (version === 1) return r.uint(space, 8, sb.lengthSize);
  if (version === 2 && space[3] === 1) return r.uint(space, 4, sb.lengthSize);
  return null;
}

/** 4 or 8 when the datatype is a little-endian IEEE 754 float32 or float64, else null. */
function ieeeFloatSize(r: Reader, t: Buffer): 4 | 8 | null {
  if (t.length < 20 || (t[0]! & 0x0f) !== 1) return null; // class 1: floating point
  const bits = t[1]!;
  // Little-endian (bits 0 and 6 clear), no padding bits, implied leading mantissa bit.
  if ((bits & 0x4f) !== 0 || ((bits >> 4) & 0x03) !== 2) return null;
  const size = r.uint(t, 4, 4);
  const sign = t[2];
  const offset = r.uint(t, 8, 2);
  const precision = r.uint(t, 10, 2);
  const [expLoc, expSize, mantLoc, mantSize] = [t[12], t[13], t[14], t[15]];
  const bias = r.uint(t, 16, 4);
  if (
    size === 4 &&
    sign === 31 &&
    offset === 0 &&
    precision === 32 &&
    expLoc === 23 &&
    expSize === 8 &&
    mantLoc === 0 &&
    mantSize === 23 &&
    bias === 127
  )
    return 4;
  if (
    size === 8 &&
    sign === 63 &&
    offset === 0 &&
    precision === 64 &&
    expLoc === 52 &&
    expSize === 11 &&
    mantLoc === 0 &&
    mantSize === 52 &&
    bias === 1023
  )
    return 8;
  return null;
}
