import type { RegisterCommand } from './context.js';
import { compareReports, DEFAULT_COMPARE, formatComparison, loadReport } from '../harness/compare.js';
import { CellbudgetError } from '../core/errors.js';
import { parseBytes, parsePercent } from '../core/units.js';

/**
 * `cellbudget compare BASE.json NEW.json [--warn 5%] [--fail 10%] [--json]`: peak and final
 * deltas per scenario × strategy at full scale; exit 1 when any is past the fail threshold.
 */
export const registerCompare: RegisterCommand = (program, ctx) => {
  program
    .command('compare')
    .description('Compare two report.json files per scenario × strategy (peak and final at full scale); exit 1 on a fail-tier regression')
    .argument('<base>', 'the baseline report.json')
    .argument('<next>', 'the new report.json')
    .option('--warn <percent>', 'growth that warns', '5%')
    .option('--fail <percent>', 'growth that fails (exit 1)', '10%')
    .option('--min-delta <size>', 'ignore changes smaller than this, in measured bytes (noise)', '1MB')
    .option('--json', 'print the comparison as JSON')
    .action(async (base: string, next: string, opts: { warn: string; fail: string; minDelta: string; json?: boolean }) => {
      const warn = parsePercent(opts.warn, '--warn');
      const fail = parsePercent(opts.fail, '--fail');
      if (fail < warn) {
        throw new CellbudgetError('USAGE', `--fail (${opts.fail}) is below --warn (${opts.warn}).`, { hint: 'The fail threshold must be at least the warn threshold, e.g. --warn 5% --fail 10%.' });
      }
      const min = parseBytes(opts.minDelta ?? String(DEFAULT_COMPARE.min_delta_bytes), '--min-delta');
      const [b, n] = await Promise.all([loadReport(base), loadReport(next)]);
      const c = compareReports(b, n, { warn, fail, min_delta_bytes: min });
      ctx.io.stdout.write(opts.json ? JSON.stringify(c, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2) + '\n' : formatComparison(c));
      if (c.failures > 0) ctx.exitCode = 1;
    });
};
