/**
 * The CLI's options (src/cli/options.ts) as each command registers them: what the action is
 * handed for a command line, parsed by the real registrations with the action replaced (no
 * scenario runs), and the refusals of bad values through the real CLI (exit 2, a code).
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands } from '../../../src/cli/commands.js';
import type { CliContext } from '../../../src/cli/context.js';
import { withBudgetFlags } from '../../../harness/report/budgets.js';
import { capture, runCli } from '../../helpers/cli.js';

/** The arguments and options `cellbudget NAME ...argv` hands its action. */
async function parsed(name: string, argv: readonly string[]): Promise<{ args: unknown[]; opts: Record<string, unknown> }> {
  const ctx: CliContext = { io: capture().io, exitCode: 0 };
  const program = new Command('cellbudget').exitOverride();
  const entry = commands.find((c) => c.name === name)!;
  (await entry.load())(program, ctx);
  const sub = program.commands.find((c) => c.name() === name)!.exitOverride();
  let seen: { args: unknown[]; opts: Record<string, unknown> } | undefined;
  sub.action((...a: unknown[]) => {
    // commander hands (…arguments, options, command).
    seen = { args: a.slice(0, -2), opts: a[a.length - 2] as Record<string, unknown> };
  });
  await program.parseAsync(['node', 'cellbudget', name, ...argv]);
  return seen!;
}

describe('list options: repeatable and comma-separated alike', () => {
  it.each(['run', 'ingest'])('--budget a=1GB,b=2GB is --budget a=1GB --budget b=2GB in %s', async (name) => {
    const first = name === 'run' ? 'quick' : 'train.log';
    const commas = await parsed(name, [first, '--budget', 'peak=400GB,final=140GB']);
    const repeated = await parsed(name, [first, '--budget', 'peak=400GB', '--budget', 'final=140GB']);
    expect(commas.opts['budget']).toEqual(repeated.opts['budget']);
    expect(withBudgetFlags(commas.opts['budget'] as never)).toEqual({ peakBytes: 400e9, finalBytes: 140e9 });
  });

  it.each(['plan', 'simulate'])(
    '%s --strategy NAME SCENARIO: the strategy takes one value, the scenario stays an argument',
    async (name) => {
      const one = await parsed(name, ['--strategy', 'eager', 'original-fix']);
      expect(one.args[0]).toBe('original-fix');
      expect(one.opts['strategy']).toEqual(['eager']);
      const many = await parsed(name, ['-s', 'eager,selective', '--strategy', 'streaming', 'original-fix']);
      expect(many.args[0]).toBe('original-fix');
      expect(many.opts['strategy']).toEqual(['eager', 'selective', 'streaming']);
    },
  );

  it('run --strategy NAME SCENARIO… keeps every scenario', async () => {
    const r = await parsed('run', ['--strategy', 'eager', 'quick', 'golden']);
    expect(r.args[0]).toEqual(['quick', 'golden']);
    expect(r.opts['strategy']).toEqual(['eager']);
  });

  it('a list given replaces its default instead of adding to it', async () => {
    expect((await parsed('plan', ['original-fix'])).opts['nodeMemory']).toEqual([400e9, 512e9, 1e12]);
    expect((await parsed('plan', ['original-fix', '--node-memory', '1TB', '--node-memory', '2TB'])).opts['nodeMemory']).toEqual([
      1e12, 2e12,
    ]);
  });

  it('values that hold commas are one value each (--dataset specs)', async () => {
    const r = await parsed('plan', ['--dataset', 'a=10GB,features=50', '--dataset', 'b=1GB']);
    expect(r.opts['dataset']).toEqual(['a=10GB,features=50', 'b=1GB']);
  });

  it('sizes, durations, percentages, scales and counts arrive parsed', async () => {
    const r = await parsed('run', [
      'quick',
      '--warn',
      '7%',
      '--timeout',
      '10m',
      '--scale',
      '0.5',
      '--runs',
      '3',
      '--slurm-mem',
      '2GB',
      '--order',
      'auto',
      '--executor',
      'local',
    ]);
    expect(r.opts).toMatchObject({
      warn: 0.07,
      fail: 0.1,
      timeout: 600_000,
      scale: 0.5,
      runs: 3,
      slurmMem: 2e9,
      order: 'auto',
      executor: 'local',
    });
  });
});

describe('bad values: exit 2 with a stable code before anything runs', () => {
  it.each([
    [
      ['plan', '-s', 'lazy', 'original-fix'],
      /\[USAGE\]: --strategy 'lazy' is not a strategy\. Use one of: eager, sequential, selective, streaming/,
    ],
    [['simulate', 'original-fix', '--strategy', 'eager,lazy'], /\[USAGE\]: --strategy 'lazy' is not a strategy/],
    [['ingest', 'train.log', '--strategy', 'fast'], /\[USAGE\]: --strategy 'fast' is not a strategy/],
    [['run', 'quick', '--order', 'best'], /\[USAGE\]: --order 'best' is not an order mode\. Use one of: given, auto\./],
    [['run', 'quick', '--runs', '0'], /\[USAGE\]: --runs '0' is not a positive integer/],
    [['run', 'quick', '--jobs', 'two'], /\[USAGE\]: --jobs 'two' is not a positive integer/],
    [['run', 'quick', '--scale', '2'], /\[USAGE\]: --scale '2' is not a fraction of full scale in \(0, 1\]/],
    [['ingest', 'train.log', '--scale', '0'], /\[USAGE\]: --scale '0' is not a fraction of full scale in \(0, 1\]/],
    [['run', 'quick', '--warn', 'lots'], /\[USAGE\]: --warn 'lots' is not a percentage/],
    [['run', 'quick', '--ladder', '12'], /\[USAGE\]: --ladder '12' is not off, a number of rungs/],
    [['run', 'quick', '--queue-timeout', 'soon'], /\[USAGE\]: --queue-timeout 'soon' is not a duration/],
    [['run', 'quick', '--budget', 'peak=1GB,final=400'], /\[USAGE\]: --budget 'final=400' has no unit/],
    [['ingest', 'train.log', '--budget', 'peak=1GB,size=2GB'], /\[USAGE\]: --budget 'size=2GB' is not METRIC=SIZE/],
    [['plan', 'original-fix', '--node-memory', '400GB,0GB'], /\[USAGE\]: --node-memory '0GB' is not a positive size/],
    [['compare', 'a.json', 'b.json', '--min-delta', 'lots'], /\[USAGE\]: --min-delta 'lots' is not a size/],
    [
      ['synth', '--out', 'x.h5ad', '--cells', '10', '--dtype', 'int8'],
      /\[USAGE\]: --dtype 'int8' is not a dtype\. Use one of: float32, float64\./,
    ],
  ])('%j', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('--help lists the choices of an enumeration', async () => {
    const r = await runCli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.out.replace(/\s+/g, ' ')).toContain('(choices: "eager", "sequential", "selective", "streaming")');
    expect(r.out.replace(/\s+/g, ' ')).toContain('(choices: "local", "slurm")');
  });
});
