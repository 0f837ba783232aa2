import cliProgress from 'cli-progress';
import type { RegisterCommand } from './context.js';
import { CellbudgetError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import type { Label } from '../core/data.js';
import { readJsonFile } from '../io/files.js';
import { parsePipelineConfig, pipelineConfigSchema } from '../pipeline/config.js';
import { subsampleSchema } from '../scenario/model.js';
import { conditionKeys } from '../scenario/subsample.js';
import { writeRung, type RungProgress } from '../h5ad/rung.js';
import { listOption, number, scale, valueOption } from './options.js';
import { progressWanted } from '../../harness/run/progress.js';

interface SubsampleFlags {
  scale: number;
  out: string;
  by?: string[];
  control?: string;
  splitBy?: string[];
  ratios?: number[];
  config?: string;
  seed?: number;
  json?: boolean;
}

/** `drug=DMSO_TF` is a derived flag (a number or true/false when it reads as one), `control` a boolean column. */
export function parseControl(value: string): string | { column: string; equals: Label } {
  const at = value.indexOf('=');
  if (at < 0) return value;
  const raw = value.slice(at + 1);
  const equals: Label =
    raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { column: value.slice(0, at), equals };
}

/** `cellbudget subsample FILE --scale 0.03 --out rung.h5ad (--by cell_line,drug | --config pipeline.json)`: write a rung of a real file. */
export const registerSubsample: RegisterCommand = (program, ctx) => {
  program
    .command('subsample')
    .description(
      'Write a rung of a real .h5ad: the whole conditions (cell lines x drugs with all their doses, and the controls of the kept ' +
        'cell lines) whose cells add up to about --scale of the file, every obs-aligned element subset by row, var and uns as they are. ' +
        'Conditions come from --by (obs columns) or a pipeline config (--config). Deterministic for a seed; prints the scale reached.',
    )
    .argument('<file>', 'the .h5ad to subsample')
    .requiredOption('--out <file>', 'output .h5ad path (written to a temporary file, then renamed)')
    .addOption(valueOption('--scale <f>', 'fraction of the file’s cells to keep, in (0, 1]', scale).makeOptionMandatory())
    .addOption(listOption('--by <columns>', 'obs columns whose values make the conditions, one axis each (e.g. cell_line,drug)', (v) => v))
    .option(
      '--control <flag>',
      'control cells: a boolean obs column (control) or a value (drug=DMSO_TF); kept with the values they share with kept conditions',
    )
    .addOption(
      listOption('--split-by <columns>', 'the --by columns train/val/test are split by: the rung keeps their split shares', (v) => v),
    )
    .addOption(listOption('--ratios <list>', 'train,val,test ratios of that split (e.g. 0.7,0.15,0.15)', number))
    .option('--config <file>', 'a pipeline config (JSON: dist_flag_key, src/tgt_dist_keys, split): its keys make the conditions')
    .addOption(valueOption('--seed <n>', 'which conditions are kept (numpy RandomState(seed).permutation per axis)', number).default(0))
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: SubsampleFlags) => {
      if ((flags.by === undefined) === (flags.config === undefined)) {
        throw new CellbudgetError(
          'USAGE',
          'Say what makes a condition: give --by (obs columns) or --config (a pipeline config), one of them.',
          {
            hint: 'E.g. --by cell_line,drug --control drug=DMSO_TF, or --config fixtures/datasets/tiny.config.json.',
          },
        );
      }
      const pipeline = flags.config
        ? parsePipelineConfig(
            readJsonFile(flags.config, pipelineConfigSchema, 'CONFIG_INVALID', {
              what: 'pipeline config',
              hint: 'Pass a JSON pipeline config.',
            }),
            flags.config,
          )
        : undefined;
      const parsed = subsampleSchema.safeParse({
        ...(flags.by ? { by: flags.by } : {}),
        ...(flags.control !== undefined ? { control: parseControl(flags.control) } : {}),
        ...(flags.splitBy ? { split_by: flags.splitBy } : {}),
        ...(flags.ratios ? { ratios: flags.ratios } : {}),
        seed: flags.seed ?? 0,
      });
      if (!parsed.success) {
        throw new CellbudgetError('USAGE', `The subsample options do not fit together: ${parsed.error.issues[0]?.message ?? 'invalid'}.`, {
          hint: '--control, --split-by and --ratios go with --by; --split-by and --ratios go together.',
        });
      }
      const keys = conditionKeys({ name: file, subsample: parsed.data }, pipeline, file);
      const interactive = progressWanted(ctx.io.stderr);
      let bar: cliProgress.SingleBar | null = null;
      const onProgress = (p: RungProgress): void => {
        if (!interactive) return;
        if (p.phase === 'matrix' && p.total > 0) {
          if (bar === null) {
            bar = new cliProgress.SingleBar(
              {
                format: 'subsample {element} [{bar}] {percentage}% | {eta_formatted} left',
                stream: ctx.io.stderr as NodeJS.WritableStream,
                hideCursor: true,
              },
              cliProgress.Presets.shades_classic,
            );
            bar.start(p.total, 0, { element: p.element ?? '' });
          }
          bar.setTotal(p.total);
          bar.update(p.done, { element: p.element ?? '' });
        }
        if (p.phase === 'done') bar?.stop();
      };
      try {
        const r = await writeRung(file, keys, flags.scale, flags.out, onProgress);
        const s = r.selection;
        if (flags.json) {
          const { rows: _rows, ...selection } = s;
          ctx.io.stdout.write(
            `${JSON.stringify({ file: r.written.path, selection, reached_bytes_scale: r.reachedBytesScale, written: r.written }, null, 2)}\n`,
          );
          return;
        }
        const lines = [
          `wrote ${r.written.path} (${formatBytes(r.written.fileBytes)} on disk, ${r.written.seconds.toFixed(2)} s)`,
          `  ${s.cells.toLocaleString('en-US')} of ${s.totalCells.toLocaleString('en-US')} cells: scale ${s.reachedScale.toPrecision(3)} reached (asked ${s.requestedScale}); matrices ${r.reachedBytesScale.toPrecision(3)} of their bytes`,
          `  ${s.conditions.kept} of ${s.conditions.total} conditions, whole; ${s.controlCells.toLocaleString('en-US')} control cells; ` +
            s.axes.map((a) => `${a.kept}/${a.total} ${a.columns.join('+')}`).join(' x '),
          ...(s.split
            ? [
                `  split by ${s.split.by.join('+')}: ${s.split.kept} values, shares ${s.split.shares.map((v) => v.toFixed(3)).join('/')} (file: ${s.split.fullShares.map((v) => v.toFixed(3)).join('/')})`,
              ]
            : []),
          ...[...s.notes, ...r.written.notes].map((n) => `  note: ${n}`),
        ];
        ctx.io.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        (bar as cliProgress.SingleBar | null)?.stop();
      }
    });
};
