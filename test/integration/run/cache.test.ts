// What a dead or damaged run left is cleaned up by the next: job folders and cache temporaries
// of processes that are gone are removed, and a cached dataset that was cut short or changed is
// generated again. Own file: the harness sweeps stale job folders once per process, so no other
// run may come first in this process.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { materializeDatasets } from '../../../harness/run/run.js';
import { loadScenarios, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { runCli as cli } from '../../helpers/cli.js';
import { writeTwoDatasetScenario } from '../../helpers/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cache = join(dir, 'cache');
function scenarioFile(
  name: string,
  body: { scale?: number; extra?: string; pipeline?: string; size?: string; features?: number } = {},
): string {
  return writeTwoDatasetScenario(join(dir, `${name}.yaml`), name, {
    scale: body.scale ?? 0.00002,
    features: body.features ?? 10,
    strategies: '[selective]',
    ...(body.size !== undefined ? { size: body.size } : {}),
    ...(body.pipeline !== undefined ? { pipeline: body.pipeline } : {}),
    ...(body.extra !== undefined ? { extra: body.extra } : {}),
  });
}
const deadPid = (): number => {
  const r = spawnSync('true');
  return r.pid!;
};

describe('leftovers of dead processes are removed by the next run', () => {
  it('job folders and cache temporaries of dead processes are removed by the next run', async () => {
    const pid = deadPid();
    const job = join(tmpdir(), `cellbudget-job-${pid}-abc123`);
    mkdirSync(job, { recursive: true });
    mkdirSync(cache, { recursive: true });
    const partial = join(cache, `.0123abcd.h5ad.${pid}.kq1x2.tmp`);
    writeFileSync(partial, Buffer.alloc(1024));
    const r = await cli([
      'run',
      scenarioFile('sweep'),
      '--ladder',
      'off',
      '--out',
      join(dir, 'sweep-out'),
      '--cache',
      cache,
      '--report-only',
      '--no-charts',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(job)).toBe(false);
    expect(existsSync(partial)).toBe(false);
  }, 60_000);
});

describe('a damaged cache entry is regenerated, not an error forever', () => {
  it('a truncated cached file is detected by its record and generated again', async () => {
    const s = loadScenarios(scenarioFile('cache-truncate'))[0] as BuiltinScenario;
    const [first] = await materializeDatasets(s, cache);
    const whole = readFileSync(first!.file);
    truncateSync(first!.file, Math.floor(whole.length / 2));
    const [again] = await materializeDatasets(s, cache);
    expect(again!.file).toBe(first!.file);
    expect(readFileSync(again!.file).equals(whole)).toBe(true);
    // A byte changed in place (same size) is caught by the checksum.
    const fd = openSync(first!.file, 'r+');
    writeSync(fd, Buffer.from([whole[whole.length - 10]! ^ 0xff]), 0, 1, whole.length - 10);
    closeSync(fd);
    utimesSync(first!.file, new Date(), new Date(Date.now() + 5000));
    const r = await cli([
      'run',
      scenarioFile('cache-truncate'),
      '--ladder',
      'off',
      '--out',
      join(dir, 'cache-out'),
      '--cache',
      cache,
      '--report-only',
      '--no-charts',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(first!.file).equals(whole)).toBe(true);
  }, 60_000);
});
