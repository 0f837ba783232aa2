import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-synth-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cellbudget synth', () => {
  it('writes a file and says what it wrote', async () => {
    const out = join(dir, 'a.h5ad');
    const r = await run([
      'synth',
      '--out',
      out,
      '--cells',
      '1200',
      '--features',
      '8',
      '--cell-lines',
      '2',
      '--drugs',
      '3',
      '--doses',
      '1,10',
      '--compression',
      'gzip',
      '--seed',
      '5',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.out).toContain('1200 cells x 8 features');
    expect(r.out).toContain('2 cell lines x 3 drugs x 2 doses = 12 perturbed conditions + 2 control');
  });

  it('--size derives the cell count; --json prints the result', async () => {
    const out = join(dir, 'b.h5ad');
    const r = await run([
      'synth',
      '--out',
      out,
      '--size',
      '400kB',
      '--features',
      '10',
      '--cell-lines',
      '2',
      '--drugs',
      '2',
      '--doses',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { spec: { cells: number }; representationBytes: number; key: string };
    expect(j.spec.cells).toBe(10_000);
    expect(j.representationBytes).toBe(400_000);
    expect(j.key).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    [['--cells', '-5'], 'CONFIG_INVALID'],
    [['--cells', '1000', '--control-fraction', '1'], 'CONFIG_INVALID'],
    [['--cells', '1000', '--control-fraction', '-0.5'], 'CONFIG_INVALID'],
    // Enumerated options are refused as the command line is read, like every bad option value.
    [['--cells', '1000', '--dtype', 'int8'], 'USAGE'],
    [['--cells', '1000', '--compression', 'lzf'], 'USAGE'],
    [['--cells', 'many'], 'USAGE'],
    [['--cells', '1000', '--doses', '1,x'], 'USAGE'],
    [['--size', '1MB', '--cells', '1000'], 'CONFIG_INVALID'],
    [[], 'CONFIG_INVALID'],
  ])('%j → exit 2 with %s and no file', async (args, code) => {
    const out = join(dir, `bad-${code}-${args.join('_')}.h5ad`);
    const r = await run(['synth', '--out', out, ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`[${code}]`);
    expect(existsSync(out)).toBe(false);
  });

  it('a missing --out or an unknown --format is a usage error (exit 2)', async () => {
    expect((await run(['synth', '--cells', '10'])).code).toBe(2);
    expect((await run(['synth', '--out', join(dir, 'c.h5ad'), '--cells', '1000', '--format', 'coo'])).code).toBe(2);
  });
});
