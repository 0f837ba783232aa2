import { Command, CommanderError } from 'commander';
import { isCellbudgetError } from '../core/errors.js';
import { commands } from './commands.js';
import type { CliContext, CliIo } from './context.js';
import { VERSION } from '../../harness/report/version.js';

/**
 * Run the CLI and return the exit code: 0 all good, 1 a budget or check failed,
 * 2 bad usage or bad input, 3 an internal error (a bug: please report it).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const program = new Command('cellbudget')
    .description('Memory budgets for multi-dataset single-cell preparation pipelines.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  // The named subcommand alone when there is one (help, errors and suggestions need them all).
  const named = commands.find((c) => c.name === argv[2]);
  // Not for help: it would wait for a library it never uses.
  if (named?.prefetch && !argv.some((a) => a === '--help' || a === '-h')) named.prefetch().catch(() => {});
  for (const register of await Promise.all((named ? [named] : commands).map((c) => c.load()))) register(program, ctx);
  for (const sub of program.commands) {
    sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  }

  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; parse errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isCellbudgetError(e)) {
      // Exit 1 is a finding (a budget broken, no node fits), not a mistake of the user's.
      io.stderr.write(`cellbudget: ${e.exitCode === 1 ? 'check failed' : 'error'} [${e.code}]: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr.write(
      `cellbudget: internal error: ${err.message}\nThis is a bug in cellbudget; please report it with the command you ran.\n`,
    );
    if (process.env['CELLBUDGET_DEBUG']) io.stderr.write(`${err.stack ?? ''}\n`);
    return 3;
  }
}
