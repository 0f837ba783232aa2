import { Option } from 'commander';
import type { RegisterCommand } from './context.js';
import { CellbudgetError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { choiceOption, positiveInteger, scale, valueOption } from './options.js';
import { readPipelineConfig } from './split.js';
import type { PreparedStore } from '../store/prepare.js';

const FORMAT_HELP =
  'zarr format of the store: 2 (default; written by cellbudget, read by zarr-python 2 and 3, so by scaleflow) or 3 ' +
  "(scaleflow's own choice; zarrita writes the metadata and small arrays, the text arrays' chunks are written in the vlen-utf8 layout zarr-python 3 reads; no shards: arrays are chunked, unsharded)";

interface PrepareFlags {
  config?: string;
  out: string;
  zarrFormat: '2' | '3';
  force?: boolean;
  json?: boolean;
  chunkRows?: number;
  scale?: number;
  cache?: string;
}

function line(s: PreparedStore, label: string): string[] {
  return [
    label,
    s.path,
    `${s.cells.toLocaleString('en-US')} cells`,
    `${s.sources} sources`,
    `${s.targets} targets`,
    `${s.cols} × ${s.dtype}`,
    formatBytes(s.storeBytes),
    `${s.seconds.toFixed(1)} s`,
  ];
}

function jsonOf(s: PreparedStore): Record<string, unknown> {
  return {
    store: s.path,
    zarr_format: s.zarrFormat,
    source: s.source,
    data_location: s.dataLocation,
    n_obs: s.nObs,
    sources: s.sources,
    targets: s.targets,
    cells: s.cells,
    dropped_cells: s.droppedCells,
    cols: s.cols,
    dtype: s.dtype,
    data_bytes: s.dataBytes,
    store_bytes: s.storeBytes,
    seconds: Math.round(s.seconds * 1000) / 1000,
    replaced: s.replaced,
  };
}

const HOW_TO_READ =
  'Read in Python with scaleflow: gd = GroupedDistribution.read_zarr(path); split it at training time with split_datasets (docs/training-store.md).\n';

/**
 * `cellbudget prepare FILE --config CONFIG --out STORE.zarr` and `cellbudget prepare SCENARIO --out DIR`:
 * write scaleflow's GroupedDistribution store(s), streaming the representation.
 */
export const registerPrepare: RegisterCommand = (program, ctx) => {
  program
    .command('prepare')
    .description(
      'Write the GroupedDistribution scaleflow trains from (GroupedDistribution.read_zarr reads it) for an .h5ad file, or for every dataset of a scenario; the representation is streamed in windows, so memory does not grow with the matrix. The store appears only once complete (written beside it, then renamed); an existing one is kept unless --force',
    )
    .argument('<input>', 'an .h5ad file (with --config), or a built-in scenario (a shipped name or a YAML file): one store per dataset')
    .option('--config <config.json>', 'DataManager settings for a file, as for `cellbudget split` (a golden file itself also works)')
    .requiredOption('--out <path>', 'the store to write (a file: STORE.zarr; a scenario: a folder, one DATASET.zarr per dataset)')
    .addOption(choiceOption('--zarr-format <n>', FORMAT_HELP, ['2', '3'] as const, 'a zarr format').default('2'))
    .option('--force', 'replace an existing store (the old one stays whole until the new one is complete)')
    .addOption(
      valueOption('--chunk-rows <n>', "rows per chunk of a distribution's array (default 4096, scaleflow's chunk_size)", positiveInteger),
    )
    .addOption(valueOption('--scale <s>', 'a scenario: generate its synthetic datasets at this scale instead of its own', scale))
    .addOption(new Option('--cache <dir>', 'a scenario: where synthetic datasets are generated and reused (default: the harness cache)'))
    .option('--json', 'print what was written as JSON')
    .action(async (input: string, flags: PrepareFlags) => {
      const common = {
        zarrFormat: flags.zarrFormat === '3' ? (3 as const) : (2 as const),
        force: flags.force === true,
        ...(flags.chunkRows !== undefined ? { chunkRows: flags.chunkRows } : {}),
      };
      if (flags.config !== undefined) {
        if (flags.scale !== undefined || flags.cache !== undefined) {
          throw new CellbudgetError('USAGE', '--scale and --cache are for a scenario; a file is prepared as it is.', {
            hint: 'Leave them out, or name a scenario instead of a file.',
          });
        }
        const config = readPipelineConfig(flags.config);
        const { prepareStore } = await import('../store/prepare.js');
        const s = await prepareStore(input, config, flags.out, common);
        if (flags.json) ctx.io.stdout.write(`${JSON.stringify(jsonOf(s))}\n`);
        else {
          ctx.io.stdout.write(
            `wrote ${s.path} (zarr format ${s.zarrFormat}${s.replaced ? ', replacing the old store' : ''}): ${s.nObs.toLocaleString('en-US')} cells of ${s.dataLocation} ` +
              `→ ${s.sources} source and ${s.targets} target distributions, ${s.cols} ${s.dtype} columns; ${formatBytes(s.storeBytes)} on disk, ${s.seconds.toFixed(1)} s\n`,
          );
          if (s.droppedCells > 0) ctx.io.stdout.write(`  ${s.droppedCells} cells with a missing key value are in no distribution\n`);
          ctx.io.stdout.write(HOW_TO_READ);
        }
        return;
      }
      if (/\.h5ad$/i.test(input)) {
        throw new CellbudgetError('USAGE', `${input} is an .h5ad file: prepare needs its DataManager settings.`, {
          hint: 'Pass --config CONFIG.json (the same file as `cellbudget split --config`).',
        });
      }
      const { prepareScenarioStores } = await import('../../harness/api/prepare.js');
      const { createProgress } = await import('../../harness/run/progress.js');
      const progress = createProgress({ stream: ctx.io.stderr });
      let stores: Awaited<ReturnType<typeof prepareScenarioStores>>;
      try {
        stores = await prepareScenarioStores(input, flags.out, {
          ...common,
          ...(flags.scale !== undefined ? { scale: flags.scale } : {}),
          ...(flags.cache !== undefined ? { cacheDir: flags.cache } : {}),
          progress,
        });
      } finally {
        progress.stop();
      }
      if (flags.json) {
        ctx.io.stdout.write(
          `${JSON.stringify({ stores: stores.map((s) => ({ scenario: s.scenario, dataset: s.dataset, ...jsonOf(s) })) })}\n`,
        );
        return;
      }
      ctx.io.stdout.write(
        `${formatTable(
          stores.map((s) => line(s, `${s.scenario}/${s.dataset}`)),
          { head: ['dataset', 'store', 'cells', 'sources', 'targets', 'rows', 'on disk', 'time'], rule: true },
        )}\n${HOW_TO_READ}`,
      );
    });
};
