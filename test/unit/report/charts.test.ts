import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_HEIGHT,
  CHART_WIDTH,
  niceCeil,
  pickUnit,
  renderChartPng,
  renderCharts,
  reportChartSpecs,
  scenarioTimelineSpec,
  strategyColor,
  timelineSpec,
  type LinesSpec,
} from '../../../harness/report/charts.js';
import type { Report } from '../../../src/core/report.js';
import { MAIN, sampleReport } from '../../helpers/report-fixtures.js';

/** Width, height and pixel statistics of a PNG. */
async function inspectPng(png: Buffer): Promise<{ width: number; height: number; inked: number; hasColor: (hex: string) => boolean }> {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const data = g.getImageData(0, 0, img.width, img.height).data;
  let inked = 0;
  const colors = new Set<number>();
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i] ?? 0;
    const gg = data[i + 1] ?? 0;
    const b = data[i + 2] ?? 0;
    if (r < 235 || gg < 235 || b < 235) inked++;
    colors.add((r << 16) | (gg << 8) | b);
  }
  // The corner is the painted background: white, not transparent.
  expect([data[0], data[1], data[2], data[3]]).toEqual([255, 255, 255, 255]);
  return {
    width: img.width,
    height: img.height,
    inked,
    hasColor: (hex) => colors.has(parseInt(hex.slice(1), 16)),
  };
}

describe('PNG charts', () => {
  let dir: string;
  let report: Report;
  let files: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-charts-'));
    report = sampleReport();
    files = await renderCharts(report, dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a timeline and a peak/final chart per scenario and one per family', () => {
    const names = files.map((f) => basename(f)).sort();
    expect(names).toContain('timeline-tahoe-sciplex-2x132gb.png');
    expect(names).toContain('peaks-tahoe-sciplex-2x132gb.png');
    expect(names).toContain('family-n-datasets.png');
    expect(names).toHaveLength(report.scenarios.length * 2 + 1);
  });

  it('renders 1200×600 images with a white background, ink, and every strategy colour', async () => {
    for (const f of files) {
      const png = await readFile(f);
      const info = await inspectPng(png);
      expect([info.width, info.height], f).toEqual([CHART_WIDTH, CHART_HEIGHT]);
      // A rendered chart inks several percent of its pixels; a blank or axes-only one does not.
      expect(info.inked / (info.width * info.height), f).toBeGreaterThan(0.03);
    }
    const timeline = await inspectPng(await readFile(join(dir, 'timeline-tahoe-sciplex-2x132gb.png')));
    for (const s of ['eager', 'sequential', 'streaming']) expect(timeline.hasColor(strategyColor(s)), s).toBe(true);
  });

  it('titles say what and at which scale; the axis is at full scale, each step projected, the measured figure in the tooltips', () => {
    const main = report.scenarios.find((s) => s.name === MAIN);
    if (!main) throw new Error('fixture lacks the main scenario');
    const spec = scenarioTimelineSpec(report, main);
    expect(spec.title).toBe(
      'tahoe-sciplex-2x132GB — memory over time (measured at a ladder of scales up to 0.001, projected to full scale)',
    );
    expect(spec.yLabel).toMatch(/full scale \(GB\)/);
    // A projection is not one scale factor, so there is no secondary measured axis.
    expect(spec.y2).toBeUndefined();
    const seq = spec.datasets.find((d) => d.label === 'sequential');
    const peakTip = seq?.points.find((p) => p.marker && p.tip?.[0]?.includes("'prepare sciplex'"))?.tip?.join(' ');
    expect(peakTip).toMatch(/332 GB \(.+–.+\) at full scale, projected \(332 MB measured at scale 0\.001\)/);
    expect(spec.budgets.map((b) => b.label)).toEqual(['peak budget 400 GB', 'final budget 150 GB']);
    expect(spec.lanes.map((l) => l.label)).toEqual(['eager', 'sequential', 'streaming']);
    expect(spec.lanes[1]?.steps.map((s) => s.label)).toContain('prepare sciplex');
    // The eager run's step peak reaches 524 GB even though its samples stop at ~97%.
    const eager = spec.datasets.find((d) => d.label === 'eager');
    expect(Math.max(...(eager?.points.map((p) => p.y ?? 0) ?? []))).toBeCloseTo(526, 6);
    const names = reportChartSpecs(report).map((c) => c.spec.title);
    expect(names.some((t) => t.startsWith('n-datasets — peak (solid) and final (dashed) memory vs number of datasets'))).toBe(true);
  });

  it('draws a prediction without samples (the simulator case) dashed, with no measured axis at scale 1', async () => {
    const GB = 1e9;
    const spec: LinesSpec = timelineSpec({
      title: 'two datasets — predicted memory (full scale)',
      scale: 1,
      x_label: 'step',
      budgets: [{ metric: 'peak', limit_bytes: 400 * GB }],
      series: [
        {
          label: 'sequential (predicted)',
          strategy: 'sequential',
          predicted: true,
          points: [
            { t_ms: 0, bytes: 0, kind: 'step', step: 'start' },
            { t_ms: 1000, bytes: 132 * GB, kind: 'end', step: 'load d1' },
            { t_ms: 2000, bytes: 262 * GB, kind: 'peak', step: 'prepare d1' },
            { t_ms: 3000, bytes: 332 * GB, kind: 'peak', step: 'prepare d2' },
          ],
        },
      ],
    });
    expect(spec.y2).toBeUndefined();
    expect(spec.datasets[0]?.dashed).toBe(true);
    expect(spec.datasets[0]?.points[3]?.tip?.join(' ')).toMatch(/predicted peak of 'prepare d2'/);
    const info = await inspectPng(await renderChartPng(spec));
    expect(info.hasColor(strategyColor('sequential'))).toBe(true);
  });

  it('adds a dashed predicted series when steps carry predicted_* figures', () => {
    const r = sampleReport();
    for (const run of r.runs)
      for (const s of run.steps) Object.assign(s, { predicted_peak_bytes: s.peak_bytes * 1.05, predicted_end_bytes: s.end_bytes });
    const main = r.scenarios.find((s) => s.name === MAIN);
    if (!main) throw new Error('fixture lacks the main scenario');
    const spec = scenarioTimelineSpec(r, main);
    const pred = spec.datasets.find((d) => d.label === 'sequential (predicted)');
    expect(pred?.dashed).toBe(true);
    expect(pred?.color).toBe(strategyColor('sequential'));
  });

  it('keeps the highest sample when it thins a long sample list', () => {
    const r = sampleReport();
    const run = r.runs[0];
    if (!run) throw new Error('no run');
    run.samples = Array.from({ length: 20_000 }, (_, i): [number, number] => [i * 0.25, i === 12_345 ? 5e6 : 1e6]);
    run.steps = [];
    const main = r.scenarios.find((s) => s.name === MAIN);
    if (!main) throw new Error('fixture lacks the main scenario');
    const d = scenarioTimelineSpec(r, main).datasets[0];
    expect(d?.points.length).toBeLessThanOrEqual(1500);
    expect(Math.max(...(d?.points.map((p) => p.y ?? 0) ?? []))).toBeCloseTo(5, 6); // GB at full scale: 5 MB measured at scale 0.001
  });

  it('picks round axis maxima and readable units', () => {
    expect(niceCeil(605)).toBe(700);
    expect(niceCeil(0.3)).toBeCloseTo(0.3, 12);
    expect(niceCeil(0)).toBe(1);
    expect(pickUnit(524e9).name).toBe('GB');
    expect(pickUnit(524e6).name).toBe('MB');
    expect(pickUnit(2e12).name).toBe('TB');
  });
});

describe('degenerate reports', () => {
  it('renders a run with no steps or samples and a report with no runs without throwing', async () => {
    const r = sampleReport();
    const run = r.runs[0];
    if (!run) throw new Error('fixture');
    Object.assign(run, { steps: [], samples: [], budgets: [], status: 'error', peak_bytes: 0, final_bytes: 0 });
    r.runs = [run];
    r.scenarios = r.scenarios.slice(0, 1);
    const specs = reportChartSpecs(r);
    expect(specs).toHaveLength(2);
    for (const { spec } of specs) expect((await renderChartPng(spec)).length).toBeGreaterThan(1000);
    expect(reportChartSpecs({ ...r, runs: [] })).toEqual([]);
  });
});
