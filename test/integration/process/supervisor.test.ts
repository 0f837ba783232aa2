// The process supervisor under real processes (sh, node): timeouts, groups, forwarded signals,
// line delivery, the output tail, and how real ends are classified. Linux only (/proc, setsid).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { descendantPids, processStartTime } from '../../../src/memory/proc.js';
import { classifyEnd, supervise, type SuperviseOptions } from '../../../harness/process/supervisor.js';

const linux = process.platform === 'linux' && existsSync('/proc/self/stat');
const NODE = process.execPath;
const BUILT = resolve('dist/harness/process/supervisor.js');
const alive = (pid: number): boolean => processStartTime(pid) !== null;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Processes a test started that must not outlive it, whatever it asserted. */
const strays: number[] = [];
afterEach(() => {
  for (const p of strays.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

/** supervise() with the lines it delivered, each with the time it came (ms since start). */
async function run(opts: Partial<SuperviseOptions> & { argv: string[] }) {
  const lines: Array<{ stream: string; line: string; t: number }> = [];
  let now = (): number => 0;
  const end = await supervise({
    env: process.env,
    ...opts,
    onSpawn: (p) => {
      strays.push(p.pid);
      now = () => p.now();
      opts.onSpawn?.(p);
    },
    onLine: (stream, line) => {
      lines.push({ stream, line, t: now() });
      opts.onLine?.(stream, line);
    },
  });
  return { end, lines, text: lines.map((l) => l.line) };
}

// A shell that says when SIGTERM reaches it and otherwise never ends (a trap runs between sleeps).
const IGNORES_TERM = 'trap "echo got TERM" TERM; echo ready; while :; do sleep 0.05; done';

describe.runIf(linux)('supervise: timeouts', () => {
  it('sends SIGTERM at the timeout, then SIGKILL after the grace period to a process that ignores it', async () => {
    const { end, lines } = await run({ argv: ['sh', '-c', IGNORES_TERM], timeoutMs: 300, killGraceMs: 400 });
    expect(end.signal).toBe('SIGKILL');
    expect(end.killedFor).toEqual({ kind: 'timeout', reason: 'timed out after 300 ms: sent SIGTERM, then SIGKILL after 400 ms' });
    const term = lines.find((l) => l.line === 'got TERM');
    expect(term, 'SIGTERM reached the process').toBeDefined();
    expect(term!.t).toBeGreaterThanOrEqual(300);
    expect(end.durationMs).toBeGreaterThanOrEqual(700);
    expect(end.durationMs).toBeLessThan(3000);
  });

  it('a process that ends on SIGTERM is not waited for through the grace period', async () => {
    const { end } = await run({ argv: ['sleep', '30'], timeoutMs: 200, killGraceMs: 5000 });
    expect(end.signal).toBe('SIGTERM');
    expect(end.killedFor).toEqual({ kind: 'timeout', reason: 'timed out after 200 ms: sent SIGTERM' });
    expect(end.durationMs).toBeLessThan(2000);
  });

  it('with no grace sends SIGKILL at once', async () => {
    const { end, text } = await run({ argv: ['sh', '-c', IGNORES_TERM], timeoutMs: 200, killGraceMs: 0 });
    expect(end.signal).toBe('SIGKILL');
    expect(text).not.toContain('got TERM');
    expect(end.killedFor).toEqual({ kind: 'timeout', reason: 'timed out after 200 ms and was killed' });
    expect(end.durationMs).toBeLessThan(1500);
  });

  it("a caller's kill (a memory cap) is the reason, and the first reason wins", async () => {
    const { end } = await run({
      argv: ['sleep', '30'],
      timeoutMs: 5000,
      tickMs: 20,
      onTick: (p) => {
        if (p.now() > 100) p.kill({ kind: 'memory-cap', reason: 'over the cap' });
        if (p.now() > 100) p.kill({ kind: 'oom', reason: 'a later reason' });
      },
    });
    expect(end.signal).toBe('SIGKILL');
    expect(end.killedFor).toEqual({ kind: 'memory-cap', reason: 'over the cap' });
    expect(end.durationMs).toBeLessThan(2000);
  });
});

describe.runIf(linux)('supervise: a process group leaves nothing behind', () => {
  const FORKS = 'sleep 30 & echo "pid $!"; setsid sleep 30 & echo "pid $!"; sleep 0.3';
  const pidsOf = (text: string[]): number[] => text.filter((l) => l.startsWith('pid ')).map((l) => Number(l.slice(4)));

  it('ends the group and every descendant its sampler saw, even one that left the group (setsid)', async () => {
    const { end, text } = await run({
      argv: ['sh', '-c', FORKS],
      group: true,
      onTick: (p) => {
        for (const d of descendantPids(p.pid)) p.noteDescendant(d);
      },
    });
    const pids = pidsOf(text);
    strays.push(...pids);
    expect(end.code).toBe(0);
    expect(pids).toHaveLength(2);
    for (const p of pids) expect(alive(p), `pid ${p} still running`).toBe(false);
    expect(end.leftovers).toBe(2);
  });

  it('a descendant nobody saw that left the group is out of reach (which is why the sampler reports them)', async () => {
    const { end, text } = await run({ argv: ['sh', '-c', FORKS], group: true });
    const [inGroup, escaped] = pidsOf(text);
    strays.push(inGroup!, escaped!);
    expect(end.leftovers).toBe(1);
    // It holds the output pipe open: given up a second after the exit rather than waited for.
    expect(end.durationMs).toBeLessThan(3000);
    expect(alive(inGroup!)).toBe(false);
    expect(alive(escaped!)).toBe(true);
  });

  it('SIGTERM sent to the harness reaches the whole group, and the harness then ends by it', async () => {
    if (!existsSync(BUILT))
      throw new Error('dist/harness/process/supervisor.js is missing: run `npm run build` (npm test does it) before these tests');
    const dir = mkdtempSync(join(tmpdir(), 'cb-supervisor-'));
    const mark = join(dir, 'got-term');
    // The command: a shell that records SIGTERM, and a grandchild in its group.
    const command = `trap 'echo term >> ${mark}; exit 0' TERM; sleep 30 & echo "pid $$ $!"; wait`;
    const harness = `import { supervise } from ${JSON.stringify(pathToFileURL(BUILT).href)};
      await supervise({ argv: ['sh', '-c', ${JSON.stringify(command)}], env: process.env, group: true, onLine: (_s, l) => console.log(l) });
      console.log('supervise returned');`;
    const h = spawn(NODE, ['--input-type=module', '-e', harness], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const pids = await new Promise<number[]>((res, rej) => {
      h.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /pid (\d+) (\d+)/.exec(out);
        if (m) res([Number(m[1]), Number(m[2])]);
      });
      h.on('exit', () => rej(new Error(`the harness exited early: ${out}`)));
    });
    strays.push(...pids);
    const exited = new Promise<NodeJS.Signals | null>((res) => h.on('exit', (_code, signal) => res(signal)));
    h.kill('SIGTERM');
    // Re-raised once passed on: the harness ends as SIGTERM means, not by going on.
    expect(await exited).toBe('SIGTERM');
    expect(out).not.toContain('supervise returned');
    for (let i = 0; i < 40 && (pids.some(alive) || !existsSync(mark)); i++) await sleep(50);
    expect(existsSync(mark) ? readFileSync(mark, 'utf8') : '', 'the command got SIGTERM').toBe('term\n');
    for (const p of pids) expect(alive(p), `pid ${p} still running`).toBe(false);
  });
});

describe.runIf(linux)('supervise: output', () => {
  it('delivers lines split across chunks whole, as their newline arrives, not at exit', async () => {
    // Each write is its own chunk (a pause between them); `stamp` is completed by a later chunk.
    const prog = `const w = (s) => process.stdout.write(s); const at = (ms, f) => setTimeout(f, ms);
      w('par'); at(60, () => w('tial\\nsec')); at(120, () => w('ond\\n'));
      at(180, () => w(Buffer.from([0xc3]))); at(240, () => w(Buffer.from([0xa9, 0x0a])));
      at(300, () => w('stamp ')); at(360, () => w(Date.now() + '\\n'));
      at(420, () => { process.stderr.write('on stderr\\n'); require('node:fs').writeSync(3, 'rec'); });
      at(480, () => require('node:fs').writeSync(3, 'ord 1\\nrecord 2\\n'));
      at(540, () => w('last, no newline')); at(1200, () => {});`;
    const chunks: string[] = [];
    const fd3: string[] = [];
    let exitAt = 0;
    let now = (): number => 0;
    const { end, lines, text } = await run({
      argv: [NODE, '-e', prog],
      fd3: 'read',
      onSpawn: (p) => void (now = () => p.now()),
      onChunk: (_s, c) => void chunks.push(c.toString('latin1')),
      onFd3Line: (l) => void fd3.push(l),
      onExit: () => void (exitAt = now()),
    });
    expect(end.code).toBe(0);
    expect(chunks.length, 'the output came in several chunks').toBeGreaterThanOrEqual(6);
    expect(text.filter((l) => !l.startsWith('stamp'))).toEqual(['partial', 'second', 'é', 'on stderr', 'last, no newline']);
    expect(lines.find((l) => l.line === 'on stderr')!.stream).toBe('stderr');
    expect(fd3).toEqual(['record 1', 'record 2']);
    const stamp = lines.find((l) => l.line.startsWith('stamp'))!;
    // Promptly: well before the process ended (it lives on ~0.8 s after this line).
    expect(stamp.t).toBeLessThan(exitAt - 300);
    expect(lines.filter((l) => l.line !== 'last, no newline').every((l) => l.t < exitAt)).toBe(true);
  });

  it('keeps the last N characters of the output, from both streams or stderr alone', async () => {
    const prog = `process.stdout.write('a'.repeat(5000)); setTimeout(() => process.stderr.write('Z'.repeat(10) + '\\n'), 100);`;
    const both = await run({ argv: [NODE, '-e', prog], tail: { chars: 100 } });
    expect(both.end.tail).toHaveLength(100);
    expect(both.end.tail).toBe('a'.repeat(89) + 'Z'.repeat(10) + '\n');
    const errOnly = await run({ argv: [NODE, '-e', prog], tail: { chars: 100, streams: 'stderr' }, onSpawn: (p) => p.note('[harness] ') });
    expect(errOnly.end.tail).toBe('[harness] ' + 'Z'.repeat(10) + '\n');
  });
});

describe('classifyEnd on real processes', () => {
  it.runIf(linux)('a program that cannot start: missing, a NUL in an argument, a missing folder', async () => {
    const missing = await supervise({ argv: ['/nonexistent/cellbudget-no-such-program'], env: process.env });
    expect(missing).toMatchObject({ pid: null, code: null, signal: null });
    expect(classifyEnd(missing, { subject: 'the command' })).toEqual({
      kind: 'spawn',
      reason: 'the command could not be started: spawn /nonexistent/cellbudget-no-such-program ENOENT',
    });
    const nul = await supervise({ argv: ['sh', 'a\u0000b'], env: process.env });
    expect(classifyEnd(nul)?.kind).toBe('spawn');
    const cwd = await supervise({ argv: ['sh', '-c', 'true'], cwd: '/nonexistent/folder', env: process.env });
    expect(classifyEnd(cwd, { subject: 'x', notStarted: (e) => `could not start sh: ${e.message}` })).toEqual({
      kind: 'spawn',
      reason: 'could not start sh: spawn sh ENOENT',
    });
  });

  it.runIf(linux)('real ends: a heap out of memory, a SIGKILL, an exit code', async () => {
    const oom = await supervise({
      argv: [NODE, '--max-old-space-size=16', '-e', 'const a = []; for (;;) a.push(new Array(1e5).fill(1))'],
      env: process.env,
    });
    expect(classifyEnd(oom, { subject: 'the child' })).toMatchObject({
      kind: 'oom',
      reason: expect.stringMatching(/^out of memory: the child died with "(JavaScript heap out of memory|Reached heap limit)"/),
    });
    const killed = await supervise({ argv: ['sh', '-c', 'kill -9 $$'], env: process.env });
    expect(killed.signal).toBe('SIGKILL');
    expect(classifyEnd(killed)?.kind).toBe(killed.cgroupOomKill ? 'oom' : 'signal');
    const exit = await supervise({ argv: ['sh', '-c', 'echo "OSError: disk full" >&2; exit 4'], env: process.env });
    expect(classifyEnd(exit)).toEqual({ kind: 'exit', reason: 'exited with code 4: OSError: disk full' });
  });
});
