// Scenario files as `run` reads them: the kind a file's keys make, errors that name the file,
// line and key (exit 2), families expanded per N, and YAML that would expand without end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios } from '../../../harness/run/scenarios.js';
import { runCli as cli } from '../../helpers/cli.js';
import { PIPELINE } from '../../helpers/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-scenario-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');

describe('scenario kinds', () => {
  it('`command:` alone makes a command scenario (no `kind:` needed)', () => {
    const path = join(dir, 'inferred.yaml');
    writeFileSync(path, 'name: inferred\ncommand: [python3, train.py]\nbudgets: { peak: 1GB }\n');
    const [s] = loadScenarios(path);
    expect(s).toMatchObject({ kind: 'command', name: 'inferred', command: ['python3', 'train.py'] });
  });

  it('keys of two kinds are named as the contradiction they are', () => {
    const path = join(dir, 'both.yaml');
    writeFileSync(path, `name: both\ncommand: [python3, train.py]\ndatasets:\n  - name: a\n    synthetic: { size: 1GB }\n${PIPELINE}`);
    expect(() => loadScenarios(path)).toThrow(
      /mixes two kinds: `command:` \(a command scenario\) and `datasets:`, `pipeline:` \(a built-in scenario\)/,
    );
  });

  it('a missing key is named as missing, a mistyped one with the key it meant', () => {
    const path = join(dir, 'typos.yaml');
    writeFileSync(path, `name: typos\ndatasets:\n  - name: a\n    synthetic: { size: 1GB, featurs: 3 }\n`);
    expect(() => loadScenarios(path)).toThrow(
      /datasets\[0\]\.synthetic\.featurs \(line 4\): unknown key — did you mean `features`\?; pipeline \(line 1\): missing \(expected object\)/,
    );
    writeFileSync(path, 'name: typos\ndatsets: []\npipline: {}\n');
    expect(() => loadScenarios(path)).toThrow(
      /unknown keys `datsets` \(did you mean `datasets`\?\), `pipline` \(did you mean `pipeline`\?\)/,
    );
  });
});

describe('scenario errors', () => {
  it('names the file, line and key of an invalid value, exit 2', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, `name: bad\nscale: 2\ndatasets:\n  - name: a\n    synthetic: { size: 1GB }\n${PIPELINE}`);
    const r = await cli(['run', path]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID/);
    expect(r.err).toMatch(/scale \(line 2\)/);
  });

  it('refuses a dataset with neither synthetic nor file', () => {
    const path = join(dir, 'nodata.yaml');
    writeFileSync(path, `name: x\ndatasets:\n  - name: a\n${PIPELINE}`);
    expect(() => loadScenarios(path)).toThrow(/exactly one of `synthetic:` or `file:`/);
  });

  it('refuses an impossible scale: too few cells for the conditions', async () => {
    const path = join(dir, 'tiny-scale.yaml');
    writeFileSync(path, `name: t\nscale: 0.0000001\ndatasets:\n  - name: a\n    synthetic: { size: 1GB, features: 50 }\n${PIPELINE}`);
    const r = await cli(['run', path, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_IMPOSSIBLE.*too few/);
  });

  it('refuses an unknown strategy and a malformed budget with exit 2', async () => {
    expect((await cli(['run', 'quick', '--strategy', 'lazy'])).code).toBe(2);
    const r = await cli(['run', 'quick', '--budget', 'peak:400GB']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/METRIC=SIZE/);
  });

  it('expands a family into one scenario per N with shifted seeds', () => {
    const path = join(dir, 'fam.yaml');
    writeFileSync(
      path,
      `name: fam\nscale: 0.001\nfamily: { n: [1, 3] }\ndatasets:\n  - name: p\n    synthetic: { size: 1GB, seed: 1 }\n  - name: s\n    synthetic: { size: 1GB, seed: 5 }\n${PIPELINE}`,
    );
    const [one, three] = loadScenarios(path);
    expect(one!.name).toBe('fam-N1');
    expect(one!.kind === 'builtin' && one!.datasets.map((d) => d.name)).toEqual(['p']);
    expect(three!.kind === 'builtin' && three!.datasets.map((d) => [d.name, d.synthetic?.seed])).toEqual([
      ['p', 1],
      ['s', 5],
      ['s_3', 6],
    ]);
  });
});

describe('YAML', () => {
  it('a YAML alias bomb is SCENARIO_INVALID (exit 2), not an internal error', async () => {
    const p = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [x, y] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ] as const)
      lines.push(`${x}: &${x} [${Array(9).fill(`*${y}`).join(',')}]`);
    writeFileSync(p, `${lines.join('\n')}\nname: bomb\n`);
    const r = await cli(['run', p, '--out', join(dir, 'bomb-out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*expands too far/);
  });
});
