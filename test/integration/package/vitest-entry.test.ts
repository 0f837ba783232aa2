// The vitest helper as the package exports it (cellbudget/vitest, from dist/).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';

describe('the package entry', () => {
  it.skipIf(!existsSync('dist/src/vitest/index.js'))('exports the helper as cellbudget/vitest', async () => {
    const spec = 'cellbudget/vitest';
    const mod = (await import(spec)) as Record<string, unknown>;
    expect(typeof mod.expectMemory).toBe('function');
    expect(typeof mod.measureMemory).toBe('function');
    expect(typeof mod.memoryMatchers).toBe('object');
  });
});
