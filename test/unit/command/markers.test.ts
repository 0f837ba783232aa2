import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyLabel, parseMarker } from '../../../harness/command/markers.js';
import { LineSplitter } from '../../../harness/process/lines.js';

describe('parseMarker', () => {
  it("reads the original script's [MEMORY] lines, with or without a log prefix", () => {
    expect(parseMarker('[MEMORY After loading dataset_1] Used: 132.00 GB | Available: 268.00 GB | Total: 400.00 GB')).toEqual({
      kind: 'memory',
      label: 'After loading dataset_1',
      usedBytes: 132e9,
      availableBytes: 268e9,
      totalBytes: 400e9,
    });
    const m = parseMarker(
      '[2025-06-02 10:13:02,440][__main__][INFO] - [MEMORY Step 2] Used: 262.5 GB | Available: 137.5 GB | Total: 400.0 GB\r',
    );
    expect(m).toMatchObject({ kind: 'memory', label: 'Step 2', usedBytes: 262.5e9 });
    expect(parseMarker('[MEMORY] Used: 1.5 GB')).toEqual({
      kind: 'memory',
      label: '',
      usedBytes: 1.5e9,
      availableBytes: null,
      totalBytes: null,
    });
  });

  it("reads cellbudget's own verbose lines, with their peak", () => {
    const m = parseMarker(
      '[MEMORY prepare dataset_2] Used: 0.481 GB | Peak: 0.484 GB | Heap: 5 MB | External: 1 MB | ArrayBuffers: 1 MB | Wasm: 0 B | Live: 390 MB | GC: 3 (1.2 ms)',
    );
    expect(m).toMatchObject({ kind: 'memory', label: 'prepare dataset_2', usedBytes: 0.481e9, peakBytes: 0.484e9 });
  });

  it('reads ::step lines, and a bare ::step', () => {
    expect(parseMarker('::step load dataset_2')).toEqual({ kind: 'step', name: 'load dataset_2' });
    expect(parseMarker('  ::step   prepare  ')).toEqual({ kind: 'step', name: 'prepare' });
    expect(parseMarker('::step')).toEqual({ kind: 'step', name: '' });
  });

  it('ignores everything else', () => {
    for (const line of ['', 'Loading dataset_1', 'echo ::step inside a line', '::steps', '[MEMORY x] nothing used', 'Used: 3 GB']) {
      expect(parseMarker(line)).toBeNull();
    }
  });
});

describe('LineSplitter', () => {
  it('gives the same lines however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 8 }), fc.array(fc.nat(40), { maxLength: 6 }), (lines, cuts) => {
        const text = lines.map((l) => l.replace(/\n/g, ' ')).join('\n');
        const bytes = Buffer.from(text, 'utf8');
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        const s = new LineSplitter();
        const got: string[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          got.push(...s.push(bytes.subarray(prev, p)));
          prev = p;
        }
        got.push(...s.end());
        // A trailing newline ends the last line; it does not start an empty one.
        const expected = text.split('\n');
        if (expected[expected.length - 1] === '') expected.pop();
        expect(got).toEqual(expected);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('classifyLabel', () => {
  it('maps labels onto the step vocabulary, carrying the dataset forward', () => {
    expect(classifyLabel('Load dataset_2')).toEqual({ name: 'load', dataset: 'dataset_2' });
    expect(classifyLabel('Split GroupedDistribution', 'dataset_2')).toEqual({ name: 'split', dataset: 'dataset_2' });
    expect(classifyLabel('after prepare', null, ['tahoe', 'sciplex'])).toEqual({ name: 'prepare', dataset: null });
    expect(classifyLabel('after loading sciplex', null, ['tahoe', 'sciplex'])).toEqual({ name: 'load', dataset: 'sciplex' });
    expect(classifyLabel('alloc 50 MB')).toEqual({ name: null, dataset: null });
  });
});
