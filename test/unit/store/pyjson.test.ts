import { describe, expect, it } from 'vitest';
import { dataLocationJson, pyFloatRepr, pyJsonList, pyJsonString } from '../../../src/store/pyjson.js';

// Python 3.11's own output for each (repr(x), json.dumps(s)); integration/store checks many more against Python itself.
describe("Python's float repr", () => {
  it.each([
    [1, '1.0'],
    [0.1, '0.1'],
    [-2.5, '-2.5'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [123456789012345680, '1.2345678901234568e+17'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [0, '0.0'],
    [-0, '-0.0'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [0.30000000000000004, '0.30000000000000004'],
    [12.5e-5, '0.000125'],
  ])('%s -> %s', (x, want) => {
    expect(pyFloatRepr(x)).toBe(want);
  });
});

describe('json.dumps with ensure_ascii', () => {
  it('escapes what Python escapes, and nothing else', () => {
    expect(pyJsonString('drug_01 A+B ~')).toBe('"drug_01 A+B ~"');
    expect(pyJsonString('é')).toBe('"\\u00e9"');
    expect(pyJsonString('😀')).toBe('"\\ud83d\\ude00"');
    expect(pyJsonString('a"b\\c\n\t\u0001\u007f')).toBe('"a\\"b\\\\c\\n\\t\\u0001\\u007f"');
  });
  it('writes a label tuple as json.dumps(list(...)): ints as ints, floats with .0', () => {
    expect(pyJsonList([{ value: 'A549' }, { value: 'drug' }, { value: 10 }, { value: 3, integer: true }, { value: true }])).toBe(
      '["A549", "drug", 10.0, 3, true]',
    );
  });
  it("writes a data location as scaleflow's AnnDataLocation.to_json", () => {
    expect(dataLocationJson(['obsm', 'X_pca'])).toBe('[["getattr", "obsm"], ["getitem", "X_pca"]]');
    expect(dataLocationJson(['X'])).toBe('[["getattr", "X"]]');
  });
});
