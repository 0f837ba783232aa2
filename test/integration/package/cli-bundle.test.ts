// bin/cellbudget.js runs the CLI bundled into dist/cli/ (scripts/bundle-cli.mjs; `npm test`
// builds first). The bundle must behave as the modules it was made from: same output, same
// errors and exit codes, for the commands users run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(root, 'bin', 'cellbudget.js');
const DATASETS = join(root, 'fixtures', 'datasets');

function bin(args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the bundled CLI', () => {
  it('is what bin/cellbudget.js runs', () => {
    expect(existsSync(join(root, 'dist', 'cli', 'main.js'))).toBe(true);
  });

  it.each(['tiny', 'combos', 'strings'])(
    'split --digest --json on %s: the same manifest and digests as the modules, on one thread and two',
    async (name) => {
      const args = ['split', join(DATASETS, `${name}.h5ad`), '--config', join(DATASETS, `${name}.config.json`), '--digest', '--json'];
      const modules = await runCli(args);
      expect(modules.code).toBe(0);
      for (const threads of ['1', '2']) {
        const bundled = bin([...args, '--threads', threads]);
        expect(bundled.code, bundled.err).toBe(0);
        expect(JSON.parse(bundled.out)).toEqual(JSON.parse(modules.out));
      }
    },
  );

  it('inspect and --help print what the modules print', async () => {
    for (const args of [['inspect', join(DATASETS, 'tiny.h5ad')], ['--help'], ['split', '--help']]) {
      const bundled = bin(args);
      const modules = await runCli(args);
      expect(bundled.code).toBe(modules.code);
      expect(bundled.out.replace(/\s+/g, ' ')).toBe(modules.out.replace(/\s+/g, ' '));
    }
  });

  it('a user mistake is a coded one-paragraph error with exit code 2, no stack trace', () => {
    const missing = bin(['split', join(DATASETS, 'nope.h5ad'), '--config', join(DATASETS, 'tiny.config.json')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/\[FILE_NOT_FOUND\]/);
    expect(missing.err).not.toMatch(/\n\s+at /);
    const badConfig = bin(['split', join(DATASETS, 'tiny.h5ad'), '--config', join(DATASETS, 'tiny.h5ad')]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.err).toMatch(/\[CONFIG_INVALID\]/);
  });
});
