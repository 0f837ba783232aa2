import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// harness/report/version.ts sits two levels below the package root, dist/harness/report/version.js three.
function readVersion(): string {
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'cellbudget' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const VERSION: string = readVersion();
