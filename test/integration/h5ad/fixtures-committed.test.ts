// The files in fixtures/ are what fixtures/make_fixtures.py writes (seeded, byte for byte),
// so a change to the script without regenerating them is caught.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, PY, pythonMissing } from '../../helpers/fixtures.js';

const missing = pythonMissing();
const out = mkdtempSync(join(tmpdir(), 'cb-fixtures-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)).map((g) => join(f, g)) : [f]));
}

describe('committed fixtures', () => {
  it('are small enough to ship (under 1 MB in all)', () => {
    const bytes = ['reader', 'datasets'].flatMap((d) => files(join(FIXTURES, d)).map((f) => statSync(join(FIXTURES, d, f)).size));
    expect(bytes.length).toBeGreaterThanOrEqual(15);
    expect(bytes.reduce((a, b) => a + b, 0)).toBeLessThan(1_000_000);
  });

  it.skipIf(missing !== null)('equal what make_fixtures.py writes, byte for byte', () => {
    const r = spawnSync(PY, [join(FIXTURES, 'make_fixtures.py'), out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const d of ['reader', 'datasets']) {
      const made = files(join(out, d)).sort();
      expect(files(join(FIXTURES, d)).sort(), d).toEqual(made);
      for (const f of made) expect(readFileSync(join(FIXTURES, d, f)).equals(readFileSync(join(out, d, f))), `${d}/${f}`).toBe(true);
    }
  });
});
