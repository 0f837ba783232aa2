// The labels and data location a store carries are Python's own text: checked here against
// Python itself on thousands of doubles (as bit patterns, so both sides see the same value) and
// strings (json.dumps, ensure_ascii).
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pyFloatRepr, pyJsonString } from '../../../src/store/pyjson.js';
import { PY } from '../../helpers/fixtures.js';

const probe = spawnSync(PY, ['-c', 'import json, struct'], { encoding: 'utf8' });
const missing = probe.status === 0 ? null : `${PY} is not available`;
if (missing) console.warn(`skipping Python's repr/json checks: ${missing}`);

const SCRIPT = `
import json, struct, sys
data = json.load(sys.stdin)
floats = [json.dumps(struct.unpack('<d', bytes.fromhex(h))[0]) for h in data['floats']]
print(json.dumps({'floats': floats, 'strings': [json.dumps(s) for s in data['strings']]}))
`;

function hex(x: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return Buffer.from(b).toString('hex');
}

describe("Python's text of labels", () => {
  it.skipIf(missing !== null)('json.dumps of a float (its repr) and of a str are what Python writes', () => {
    const floats = [
      ...fc.sample(fc.double({ noNaN: true }), { seed: 11, numRuns: 3000 }),
      ...fc.sample(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { seed: 12, numRuns: 1000 }),
      ...fc.sample(fc.integer({ min: -1e6, max: 1e6 }), { seed: 13, numRuns: 200 }).map((i) => i / 8),
      1e16,
      1e15,
      1e-4,
      1e-5,
      9999999999999998,
      0.1,
      2.5,
      100,
    ];
    const strings = [...fc.sample(fc.string({ unit: 'binary' }), { seed: 14, numRuns: 1000 }), 'A549', 'drug é', '\u007f\u0000'];
    const r = spawnSync(PY, ['-c', SCRIPT], {
      input: JSON.stringify({ floats: floats.map(hex), strings }),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout) as { floats: string[]; strings: string[] };
    expect(floats.map(pyFloatRepr)).toEqual(py.floats);
    expect(strings.map(pyJsonString)).toEqual(py.strings);
  });
});
