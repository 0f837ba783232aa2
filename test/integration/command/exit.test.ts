// A command scenario's end: whatever it left running is ended, and a command that fails says
// where its output is.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommandScenario } from '../../../harness/command/command.js';
import { processStartTime } from '../../../src/memory/proc.js';
import { runCli as cli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-command-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a command leaves nothing running', () => {
  it('forked and setsid children are ended when the command exits', async () => {
    const pids: number[] = [];
    const rec = await runCommandScenario(
      { name: 'forks', command: ['sh', '-c', 'sleep 300 & echo "pid $!"; setsid sleep 300 & echo "pid $!"; sleep 0.3; echo ::step end'] },
      { onLine: (_s, line) => void (/^pid (\d+)$/.test(line) && pids.push(Number(/^pid (\d+)$/.exec(line)![1]))) },
    );
    expect(rec.status).toBe('ok');
    expect(pids.length).toBe(2);
    for (const p of pids) expect(processStartTime(p), `pid ${p} still running`).toBeNull();
    expect(rec.command.notes.join(' ')).toMatch(/2 process\(es\) the command left running were ended/);
  });
});

describe('a failed command', () => {
  it("a failed command's message names its log", async () => {
    const p = join(dir, 'fails.yaml');
    writeFileSync(p, 'name: fails\nkind: command\ncommand: [sh, -c, "echo boom >&2; exit 3"]\n');
    const out = join(dir, 'fails-out');
    const r = await cli(['run', p, '--out', out, '--no-charts']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`exited with code 3; its output is in ${join(out, 'fails.command.log')}`);
    expect(readFileSync(join(out, 'fails.command.log'), 'utf8')).toContain('boom');
  });
});
