// Running the CLI in-process with captured output, for the tests of every command.
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/context.js';

/** Streams that collect what a command writes. */
export function capture(): { io: CliIo; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  return {
    io: { stdout: { write: (s: string) => ((o += s), true) }, stderr: { write: (s: string) => ((e += s), true) } },
    out: () => o,
    err: () => e,
  };
}

/** `cellbudget ...args`: the exit code and what it printed. */
export async function runCli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(['node', 'cellbudget', ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}
