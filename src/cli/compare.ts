import type { RegisterCommand } from './context.js';
import { compareReports, DEFAULT_COMPARE, formatComparison, loadReport } from '../../harness/report/compare.js';
import { parseSize, percent, thresholds, valueOption } from './options.js';

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
    .addOption(valueOption('--warn <percent>', 'growth that warns', percent).default(DEFAULT_COMPARE.warn, '5%'))
    .addOption(valueOption('--fail <percent>', 'growth that fails (exit 1)', percent).default(DEFAULT_COMPARE.fail, '10%'))
    .addOption(
      valueOption('--min-delta <size>', 'ignore changes smaller than this, in measured bytes (noise)', parseSize).default(
        DEFAULT_COMPARE.min_delta_bytes,
        '1MB',
      ),
    )
    .option('--json', 'print the comparison as JSON')
    .action(async (base: string, next: string, opts: { warn: number; fail: number; minDelta: number; json?: boolean }) => {
      const { warn, fail } = thresholds(opts);
      const [b, n] = await Promise.all([loadReport(base), loadReport(next)]);
      const c = compareReports(b, n, { warn, fail, min_delta_bytes: opts.minDelta });
      ctx.io.stdout.write(
        opts.json
          ? JSON.stringify(c, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2) + '\n'
          : formatComparison(c),
      );
      if (c.failures > 0) ctx.exitCode = 1;
    });
};
