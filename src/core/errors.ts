/**
 * One family of typed errors. Every error a user can act on carries a stable `code`,
 * the offending path/key/value as fields, and a message that says what to do next.
 * The library throws these; only the CLI maps them to exit codes (2 for user errors).
 */
export type ErrorCode =
  // files and h5ad layout
  | 'FILE_NOT_FOUND'
  | 'FILE_NOT_HDF5'
  | 'FILE_TRUNCATED'
  | 'FILE_UNREADABLE'
  | 'H5AD_MISSING_KEY'
  | 'H5AD_UNSUPPORTED_ENCODING'
  | 'H5AD_UNSUPPORTED_FILTER'
  | 'H5AD_UNSUPPORTED_DTYPE'
  | 'H5AD_INVALID'
  | 'H5AD_WRITE_FAILED'
  // pipeline configuration and data
  | 'CONFIG_INVALID'
  | 'OBS_MISSING_COLUMN'
  | 'OBS_FLAG_NOT_BOOLEAN'
  | 'UNS_MISSING_KEY'
  | 'CONTROL_VALUE_NOT_UNIQUE'
  | 'NO_CONTROL_CELLS'
  | 'RATIOS_INVALID'
  | 'SPLIT_TOO_SMALL'
  // scenarios, harness, budgets
  | 'SCENARIO_INVALID'
  | 'SCENARIO_IMPOSSIBLE'
  | 'USAGE'
  | 'NOTHING_TO_RUN'
  | 'BUDGET_EXCEEDED'
  | 'CHILD_FAILED'
  | 'MEASUREMENT_UNAVAILABLE'
  | 'CALIBRATION_INVALID'
  | 'LOG_INVALID'
  | 'REPORT_INVALID'
  // where results go, and what this machine can hold
  | 'OUTPUT_UNWRITABLE'
  | 'STORE_EXISTS'
  | 'STORE_INCOMPLETE'
  | 'RESOURCES_INSUFFICIENT'
  // running on a Slurm cluster, and the settings file that configures it
  | 'SLURM_UNAVAILABLE'
  | 'SLURM_REFUSED'
  | 'SLURM_WORKDIR_NOT_SHARED'
  | 'SETTINGS_INVALID'
  // a finding, not an error of the user's: exit 1
  | 'NO_NODE_FITS';

export interface ErrorDetails {
  /** File the error is about, when there is one. */
  readonly file?: string;
  /** Key or path inside the file or config (e.g. `obs/drug`, `split.ratios`). */
  readonly key?: string;
  /** The offending value, printable. */
  readonly value?: unknown;
  /** What the user can do about it. Appended to the message. */
  readonly hint?: string;
}

/** Base of every error cellbudget raises on purpose. */
export class CellbudgetError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly value: unknown;
  readonly hint: string | undefined;
  /** Exit code the CLI uses: 2 for bad input/usage, 1 for failed checks. */
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    const full = details.hint ? `${message} ${details.hint}` : message;
    super(full, options);
    this.name = 'CellbudgetError';
    this.code = code;
    this.file = details.file;
    this.key = details.key;
    this.value = details.value;
    this.hint = details.hint;
    this.exitCode = code === 'BUDGET_EXCEEDED' || code === 'NO_NODE_FITS' ? 1 : 2;
  }

  /** A plain object for `--json` output and reports. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.key !== undefined ? { key: this.key } : {}),
      ...(this.value !== undefined ? { value: this.value } : {}),
    };
  }
}

/** True for errors thrown by cellbudget on purpose (works across module copies). */
export function isCellbudgetError(e: unknown): e is CellbudgetError {
  return (
    e instanceof CellbudgetError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'CellbudgetError' &&
      typeof (e as { code?: unknown }).code === 'string')
  );
}
