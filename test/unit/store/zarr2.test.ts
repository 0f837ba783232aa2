import { describe, expect, it } from 'vitest';
import type { ArrayNode } from '../../../src/store/nodes.js';
import { decodeVlenUtf8, encodeUtf32, encodeVlenUtf8, numericBytes } from '../../../src/store/nodes.js';
import { MemorySink } from '../../../src/store/sink.js';
import { chunkKey2, encodedChunks2, writeNodes2, zarrayOf, zarrJson } from '../../../src/store/zarr2.js';

const arr = (over: Partial<ArrayNode>): ArrayNode => ({
  kind: 'array',
  path: 'a',
  dtype: 'float32',
  shape: [5],
  chunks: [2],
  attrs: {},
  values: { kind: 'numbers', values: [1, 2, 3, 4, 5] },
  ...over,
});

describe('zarr format 2 documents', () => {
  it('write .zarray as zarr-python 2 does: sorted keys, 4-space indent, dtype strings', () => {
    expect(zarrJson({ b: 1, a: { d: [1], c: null } })).toBe(
      '{\n    "a": {\n        "c": null,\n        "d": [\n            1\n        ]\n    },\n    "b": 1\n}',
    );
    expect(zarrayOf(arr({}))).toEqual({
      chunks: [2],
      compressor: null,
      dtype: '<f4',
      fill_value: 0,
      filters: null,
      order: 'C',
      shape: [5],
      zarr_format: 2,
    });
    expect(zarrayOf(arr({ dtype: 'int8' })).dtype).toBe('|i1');
    expect(zarrayOf(arr({ dtype: 'bool' }))).toMatchObject({ dtype: '|b1', fill_value: false });
    expect(zarrayOf(arr({ dtype: 'string', values: { kind: 'strings', values: ['x'] } }))).toMatchObject({
      dtype: '|O',
      filters: [{ id: 'vlen-utf8' }],
      fill_value: 0,
    });
    // A 0-d text value is numpy's <U{code points}, as anndata 0.8 writes a str.
    expect(zarrayOf(arr({ dtype: 'string', shape: [], chunks: [], values: { kind: 'strings', values: ['héllo😀'] } }))).toMatchObject({
      dtype: '<U6',
      fill_value: '',
      filters: null,
    });
  });

  it('name chunks i.0… and a 0-d chunk 0', () => {
    expect(chunkKey2('data/tgt_data/3', 7, 2)).toBe('data/tgt_data/3/7.0');
    expect(chunkKey2('x', 2, 3)).toBe('x/2.0.0');
    expect(chunkKey2('s', 0, 0)).toBe('s/0');
  });

  it('write every chunk full size: the last padded with zeros, or with empty strings', () => {
    const chunks = encodedChunks2(arr({}));
    expect(chunks.map(([k]) => k)).toEqual(['a/0', 'a/1', 'a/2']);
    expect(Array.from(new Float32Array(chunks[2]![1].slice().buffer))).toEqual([5, 0]);
    const text = encodedChunks2(arr({ dtype: 'string', shape: [3], chunks: [2], values: { kind: 'strings', values: ['a', 'bé', 'c'] } }));
    expect(text.map(([, b]) => decodeVlenUtf8(b))).toEqual([
      ['a', 'bé'],
      ['c', ''],
    ]);
  });

  it('encode numbers little-endian, int64 exactly, text as VLenUTF8 and UTF-32', () => {
    expect(Array.from(numericBytes('int16', [-2]))).toEqual([0xfe, 0xff]);
    expect(Array.from(numericBytes('int64', [2 ** 40 + 1]))).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(encodeVlenUtf8(['ab', '']))).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 97, 98, 0, 0, 0, 0]);
    expect(decodeVlenUtf8(encodeVlenUtf8(['x', 'é😀', '']))).toEqual(['x', 'é😀', '']);
    expect(Array.from(encodeUtf32('a😀', 3))).toEqual([97, 0, 0, 0, 0x00, 0xf6, 0x01, 0, 0, 0, 0, 0]);
  });

  it('write groups, arrays and their attributes into a sink', () => {
    const sink = new MemorySink();
    writeNodes2(
      [
        { kind: 'group', path: '', attrs: {} },
        { kind: 'group', path: 'g', attrs: { x: 1 } },
        arr({ path: 'g/a', attrs: { 'encoding-type': 'array' } }),
      ],
      sink,
    );
    expect([...sink.objects.keys()].sort()).toEqual([
      '.zgroup',
      'g/.zattrs',
      'g/.zgroup',
      'g/a/.zarray',
      'g/a/.zattrs',
      'g/a/0',
      'g/a/1',
      'g/a/2',
    ]);
  });
});
