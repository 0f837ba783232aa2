import type { RegisterCommand } from './context.js';
import { h5Ready } from '../h5ad/file.js';
import { formatInspect, inspectH5ad } from '../h5ad/inspect.js';

/** `cellbudget inspect FILE [--json]`: layout, obs columns, representations, uns keys. */
export const registerInspect: RegisterCommand = (program, ctx) => {
  program
    .command('inspect')
    .description('Describe an .h5ad file: layout and encodings, n_obs, obs columns, every representation (X, obsm/*, layers/*), uns keys')
    .argument('<file>', 'the .h5ad file')
    .option('--json', 'print JSON instead of a table')
    .action(async (file: string, opts: { json?: boolean }) => {
      await h5Ready();
      const report = inspectH5ad(file);
      ctx.io.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report));
    });
};
