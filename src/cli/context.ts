import type { Command } from 'commander';

/** Where a command writes, so tests can capture it; the real CLI passes process streams. */
export interface CliIo {
  readonly stdout: { write(s: string): unknown; isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
}

export interface CliContext {
  readonly io: CliIo;
  /** Set by a command: 0 ok, 1 a budget/check failed. User errors are thrown instead. */
  exitCode: number;
}

/** A subcommand: adds itself to the program. Actions may be async. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;
