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

class Reader {
  private nodes = 0;
  constructor(
    private readonly fd: number,
    private readonly sb: SuperblockInfo,
  ) {}

  bytes(addr: number, n: number): Buffer | null {
    if (!Number.isSafeInteger(addr) || addr < 0 || n <= 0 || n > 1 << 24) return null;
    const b = Buffer.alloc(n);
    const got = readSync(this.fd, b, 0, n, this.sb.base + addr);
    return got === n ? b : null;
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
    if (!head || head[4] !== 2) return null;
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
      if (blk.v2) {
        if (at + 4 > end) break;
        type = buf[at] ?? null;
        size = r.uint(buf, at + 1, 2);
        const mflags = buf[at + 3] ?? 0;
        at += 4 + (flags & 0x04 ? 2 : 0);
        void mflags;
      } else {
        type = r.uint(buf, at, 2);
        size = r.uint(buf, at + 2, 2);
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
        out.push({ type, data });
      }
    }
  }
  return out;
}

/** Sum of chunk sizes under a version-1 B-tree (raw data chunks) node. */
function btreeChunkBytes(r: Reader, addr: number, dims: number, sb: SuperblockInfo, depth = 0): number | null {
  if (depth > 64 || !r.tick()) return null;
  const O = sb.offsetSize;
  const head = r.bytes(addr, 8 + 2 * O);
  if (!head || head.toString('latin1', 0, 4) !== 'TREE' || head[4] !== 1) return null;
  const level = head[5] ?? 0;
  const entries = r.uint(head, 6, 2);
  if (entries === null) return null;
  const keySize = 8 + 8 * dims;
  const body = r.bytes(addr + 8 + 2 * O, entries * (keySize + O) + keySize);
  if (!body) return null;
  let total = 0;
  for (let i = 0; i < entries; i++) {
    const keyAt = i * (keySize + O);
    const child = r.uint(body, keyAt + keySize, O);
    if (child === null) return null;
    if (level === 0) {
      const size = r.uint(body, keyAt, 4);
      if (size === null) return null;
      total += size;
    } else {
      const sub = btreeChunkBytes(r, child, dims, sb, depth + 1);
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
