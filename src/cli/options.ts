/**
 * The command line's option types, in one place. Enumerations are commander `.choices()`
 * (listed by --help); sizes, durations, percentages, scales and counts are parsed by
 * `.argParser` as commander reads them, so a bad value is refused with exit 2 and a stable
 * code (USAGE) before a command starts anything. Options that take several values are
 * repeatable and comma-separated alike, through one collector (`-s eager,selective` is
 * `-s eager -s selective`); none is variadic, so none can swallow the argument after it.
 *
 * Only core imports here: every subcommand loads this module, and `cellbudget split` must
 * not pay for the harness (src/cli/commands.ts).
 */
import { Option } from 'commander';
import { CellbudgetError } from '../core/errors.js';
import { parseName, parseStrategyName, STRATEGY_NAMES } from '../core/names.js';
import { parseBytes, parseDuration, parsePercent } from '../core/units.js';

/** Parses one value of option `key` (e.g. '--timeout'); throws CellbudgetError. */
export type ParseValue<T> = (value: string, key: string) => T;

/** The items of a comma-separated value, trimmed, empty ones dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** An option whose every value goes through `parse` (its messages name the option's long flag). */
export function valueOption<T>(flags: string, description: string, parse: ParseValue<T>): Option {
  const option = new Option(flags, description);
  const key = option.long ?? flags;
  return option.argParser((value: string) => parse(value, key));
}

/**
 * A repeatable, comma-separated option: each item parsed, collected in order after what
 * earlier occurrences gave; the first occurrence replaces a default. With `choices`, --help
 * lists the allowed items.
 */
export function listOption<T>(flags: string, description: string, parseItem: ParseValue<T>, choices?: readonly string[]): Option {
  const option = new Option(flags, description);
  if (choices) option.choices(choices);
  const key = option.long ?? flags;
  return option.argParser((value: string, previous: T[] | undefined) => [
    ...(previous === undefined || previous === option.defaultValue ? [] : previous),
    ...splitList(value).map((item) => parseItem(item, key)),
  ]);
}

/** A repeatable option whose values may hold commas (`--dataset a=1GB,features=50`, `--sbatch-arg`): one value each time. */
export function repeatedOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
}

/** One of `values` (listed by --help); anything else is USAGE naming them, "… is not `what`". */
export function choiceOption<T extends string>(flags: string, description: string, values: readonly T[], what: string): Option {
  const option = new Option(flags, description).choices(values);
  const key = option.long ?? flags;
  // .choices() lists the values in --help; this parser replaces commander's so a refusal carries a code.
  return option.argParser((value: string) => parseName(value, values, key, what));
}

/** One built-in strategy (listed by --help). */
export function strategyOption(flags: string, description: string): Option {
  const option = new Option(flags, description).choices(STRATEGY_NAMES);
  const key = option.long ?? flags;
  return option.argParser((value: string) => parseStrategyName(value, key));
}

/** `--strategy`: repeatable and comma-separated, each a built-in strategy. */
export function strategiesOption(flags: string, description: string): Option {
  return listOption(flags, description, parseStrategyName, STRATEGY_NAMES);
}

/** A size with a unit, e.g. 400GB or 1.5TiB (GB = 1e9, GiB = 2^30), in bytes. */
export function parseSize(value: string, key: string, opts: { positive?: boolean } = {}): number {
  let bytes: number;
  try {
    bytes = parseBytes(value, key);
  } catch (e) {
    throw new CellbudgetError(
      'USAGE',
      `${key} '${value}' is not a size.`,
      { key, value, hint: `Write a number with a unit, e.g. ${key} 400GB (GB = 1e9 bytes, GiB = 2^30).` },
      { cause: e },
    );
  }
  if (opts.positive && !(bytes > 0))
    throw new CellbudgetError('USAGE', `${key} '${value}' is not a positive size.`, { key, value, hint: `Write e.g. ${key} 400GB.` });
  return bytes;
}

/** A positive size (a node, a job's memory). */
export const positiveSize: ParseValue<number> = (value, key) => parseSize(value, key, { positive: true });

/** A duration ("30s", "10m", "1h"; a bare number is seconds) in milliseconds, positive: 0 would end everything at once. */
export const positiveDuration: ParseValue<number> = (value, key) => {
  const ms = parseDuration(value, key);
  if (!(ms > 0))
    throw new CellbudgetError('USAGE', `${key} '${value}' is not a positive duration.`, {
      key,
      value,
      hint: `Write e.g. ${key} 10m; leave the option out for no limit.`,
    });
  return ms;
};

/** A percentage ("10%" or 0.1) as a fraction. */
export const percent: ParseValue<number> = (value, key) => parsePercent(value, key);

/** A fraction of full scale in (0, 1]. */
export const scale: ParseValue<number> = (value, key) => {
  const v = Number(value);
  if (value.trim() === '' || !(v > 0 && v <= 1)) {
    throw new CellbudgetError('USAGE', `${key} '${value}' is not a fraction of full scale in (0, 1].`, {
      key,
      value,
      hint: `Write e.g. ${key} 1 (full size) or ${key} 0.001 (a thousandth of it).`,
    });
  }
  return v;
};

/** A positive integer (runs, jobs). */
export const positiveInteger: ParseValue<number> = (value, key) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new CellbudgetError('USAGE', `${key} '${value}' is not a positive integer.`, { key, value, hint: `Write e.g. ${key} 3.` });
  return n;
};

/** A finite number. */
export const number: ParseValue<number> = (value, key) => {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n))
    throw new CellbudgetError('USAGE', `${key} expects a number, got '${value}'.`, { key, value, hint: `Pass e.g. ${key} 10.` });
  return n;
};

/** `--warn` and `--fail`, judged together: the fail threshold must be at least the warn one. */
export function thresholds(opts: { readonly warn: number; readonly fail: number }): { warn: number; fail: number } {
  const text = (f: number): string => `${Math.round(f * 1e6) / 1e4}%`;
  if (opts.fail < opts.warn) {
    throw new CellbudgetError('USAGE', `--fail (${text(opts.fail)}) is below --warn (${text(opts.warn)}).`, {
      hint: 'The fail threshold must be at least the warn threshold, e.g. --warn 5% --fail 10%.',
    });
  }
  return { warn: opts.warn, fail: opts.fail };
}
