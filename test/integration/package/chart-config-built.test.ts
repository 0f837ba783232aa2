// The chart configuration as built into dist/ is as self-contained as its source.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkShipped, undeclaredNames } from '../../helpers/chart-config.js';

describe('the chart configuration shipped in report.html', () => {
  // The CLI ships tsc's output, not the test runner's transform of the source.
  it('is as self-contained as built into dist/', async () => {
    const built = resolve(import.meta.dirname, '../../../dist/harness/report/chart-config.js');
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` (npm test does it) first`);
    const script = ((await import(pathToFileURL(built).href)) as { chartConfigScript(): string }).chartConfigScript();
    checkShipped(script);
    expect(undeclaredNames(script)).toEqual([]);
  });
});
