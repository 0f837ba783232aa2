/**
 * Chart spec → Chart.js configuration, for the HTML page and the PNGs alike.
 *
 * Shipped as source text: the page gets `chartConfigScript()`, the text of every function in
 * SHIPPED below, and runs it in the browser. So each of those functions may use only its
 * parameters, the other shipped functions, the constants in SHIPPED_CONSTANTS and
 * JavaScript's own globals — no import, no other module-level name, nothing from Node.
 * test/unit/report/chart-config.test.ts runs the script in an empty `node:vm` context, calling
 * every callback, so a reference from outside fails there rather than in a reader's browser.
 * The formatter leaves this file alone (biome.json): the page embeds its text as written.
 */
import type { ChartConfiguration } from 'chart.js';
import type { BarsSpec, ChartSpec, LinesSpec } from './chart-spec.js';

const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
/** Height of one lane of step names under a timeline, px. */
const LANE_H = 22;
/** Module constants the shipped functions use; the script declares them with these values. */
const SHIPPED_CONSTANTS = { FONT, LANE_H };

// The parts of Chart.js's objects the plugins touch (erased at compile time; nothing shipped).
type Ctx = {
  save(): void; restore(): void; beginPath(): void; moveTo(x: number, y: number): void; lineTo(x: number, y: number): void; stroke(): void;
  fillRect(x: number, y: number, w: number, h: number): void; fillText(t: string, x: number, y: number): void; measureText(t: string): { width: number };
  setLineDash(d: number[]): void; rect(x: number, y: number, w: number, h: number): void; clip(): void;
  fillStyle: string; strokeStyle: string; lineWidth: number; font: string; textAlign: string; textBaseline: string; globalAlpha: number;
};
type Area = { left: number; right: number; top: number; bottom: number };
type Scale = { getPixelForValue(v: number): number; left: number; right: number; top: number; bottom: number };
type ChartLike = { ctx: Ctx; width: number; height: number; chartArea: Area; scales: Record<string, Scale | undefined> };
type BarElement = { x: number; y: number; width?: number; base?: number };
type BarChartLike = ChartLike & { getDatasetMeta(i: number): { data: BarElement[]; hidden?: boolean } };
type VisibilityChart = { isDatasetVisible(i: number): boolean };

// ---------------------------------------------------------------------------------------
// Small drawing helpers

/** A Chart.js font option. */
function font(size: number, weight?: string): { family: string; size: number; weight?: string } {
  return { family: FONT, size, ...(weight ? { weight } : {}) };
}

/** A canvas `font` string. */
function canvasFont(size: number, weight = 'normal'): string {
  return `${weight} ${size}px ${FONT}`;
}

/** `#rrggbb` with an opacity, as rgba(); any other colour as it is. */
function alpha(hex: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m || !m[1]) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** `text`, cut with an ellipsis to fit `width` pixels (empty when not even one letter fits). */
function fitText(g: Ctx, text: string, width: number): string {
  if (g.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 1 && g.measureText(t + '…').width > width) t = t.slice(0, -1);
  return t.length > 1 ? t + '…' : '';
}

// ---------------------------------------------------------------------------------------
// Plugins: what Chart.js does not draw itself

/** A white background, so a PNG is not transparent. */
function backgroundPlugin() {
  return {
    id: 'cbBackground',
    beforeDraw(chart: ChartLike) {
      const g = chart.ctx;
      g.save();
      g.fillStyle = '#ffffff';
      g.fillRect(0, 0, chart.width, chart.height);
      g.restore();
    },
  };
}

/** Horizontal budget lines with their label, and notes such as where a run died. */
function budgetLinesPlugin(spec: LinesSpec) {
  return {
    id: 'cbBudgets',
    afterDatasetsDraw(chart: ChartLike) {
      const y = chart.scales['y'];
      if (!y) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      g.save();
      for (const b of spec.budgets) {
        const py = y.getPixelForValue(b.y);
        if (py < a.top - 1 || py > a.bottom + 1) continue;
        g.strokeStyle = b.color;
        g.lineWidth = 2;
        g.setLineDash([8, 5]);
        g.beginPath();
        g.moveTo(a.left, py);
        g.lineTo(a.right, py);
        g.stroke();
        g.setLineDash([]);
        g.font = canvasFont(14, 'bold');
        // At the left end: memory starts low, so the label rarely sits on a line there.
        g.textAlign = 'left';
        g.textBaseline = 'bottom';
        g.fillStyle = 'rgba(255, 255, 255, 0.8)';
        g.fillRect(a.left + 5, py - 20, g.measureText(b.label).width + 6, 17);
        g.fillStyle = b.color;
        g.fillText(b.label, a.left + 8, py - 3);
      }
      const x = chart.scales['x'];
      if (spec.notes && x) {
        spec.notes.forEach((n, i) => {
          g.font = canvasFont(14, 'bold');
          g.fillStyle = n.color;
          g.textAlign = 'center';
          g.textBaseline = 'top';
          const p = Math.min(a.right - 80, Math.max(a.left + 80, x.getPixelForValue(n.x)));
          g.fillText(`✗ ${n.text}`, p, a.top + 8 + i * 20);
        });
      }
      g.restore();
    },
  };
}

/** Step boundaries: dotted lines up through the plot, and a lane of step names per run under the x axis. */
function lanesPlugin(spec: LinesSpec) {
  return {
    id: 'cbLanes',
    beforeDatasetsDraw(chart: ChartLike) {
      const x = chart.scales['x'];
      if (spec.lanes.length === 0 || !x) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      g.save();
      g.lineWidth = 1;
      g.setLineDash([2, 4]);
      for (const lane of spec.lanes) {
        g.strokeStyle = alpha(lane.color, 0.45);
        for (const st of lane.steps) {
          const p = x.getPixelForValue(st.start);
          g.beginPath();
          g.moveTo(p, a.top);
          g.lineTo(p, a.bottom);
          g.stroke();
        }
      }
      g.restore();
    },
    afterDraw(chart: ChartLike) {
      const x = chart.scales['x'];
      if (spec.lanes.length === 0 || !x) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      const top0 = chart.height - spec.lanes.length * LANE_H - 6;
      g.save();
      spec.lanes.forEach((lane, li) => {
        const top = top0 + li * LANE_H;
        g.font = canvasFont(13, 'bold');
        g.fillStyle = lane.color;
        g.textAlign = 'right';
        g.textBaseline = 'middle';
        g.fillText(fitText(g, lane.label, a.left - 10), a.left - 8, top + LANE_H / 2);
        lane.steps.forEach((st, si) => {
          const x0 = Math.max(a.left, x.getPixelForValue(st.start));
          const x1 = Math.min(a.right, x.getPixelForValue(st.end));
          const w = Math.max(1, x1 - x0);
          g.fillStyle = alpha(lane.color, si % 2 === 0 ? 0.22 : 0.1);
          g.fillRect(x0, top + 2, w, LANE_H - 4);
          g.fillStyle = alpha(lane.color, 0.9);
          g.fillRect(x0, top + 2, 1.5, LANE_H - 4);
          g.font = canvasFont(12);
          g.fillStyle = '#222222';
          g.textAlign = 'left';
          const text = w - 6 >= g.measureText(st.label).width ? st.label : w - 6 >= g.measureText(st.short).width ? st.short : '';
          if (text) g.fillText(text, x0 + 4, top + LANE_H / 2);
        });
      });
      g.restore();
    },
  };
}

/** A budget that may differ per category: a dashed mark across each category's slot. */
function drawCategoryBudgets(g: Ctx, a: Area, y: Scale, spec: BarsSpec, slot: number): void {
  for (const b of spec.categoryBudgets) {
    b.values.forEach((v, ci) => {
      if (v === null || v === undefined) return;
      const py = y.getPixelForValue(v);
      const x0 = a.left + slot * ci + slot * 0.06;
      const x1 = a.left + slot * (ci + 1) - slot * 0.06;
      g.strokeStyle = b.color;
      g.lineWidth = 2.5;
      g.setLineDash([8, 5]);
      g.beginPath();
      g.moveTo(x0, py);
      g.lineTo(x1, py);
      g.stroke();
      g.setLineDash([]);
    });
  }
}

/** One bar's extras: a red outline when over budget, the interval as a whisker, the value label above. */
function drawBarMarks(g: Ctx, y: Scale, bar: BarElement, label: string, over: boolean, interval: [number, number] | null | undefined): void {
  if (over && bar.width !== undefined && bar.base !== undefined) {
    g.strokeStyle = '#c00000';
    g.lineWidth = 3;
    g.setLineDash([]);
    g.beginPath();
    g.rect(bar.x - bar.width / 2, bar.y, bar.width, bar.base - bar.y);
    g.stroke();
  }
  // The label goes above the bar or its whisker, whichever is higher.
  let top = bar.y;
  if (interval) {
    const lo = y.getPixelForValue(interval[0]);
    const hi = y.getPixelForValue(interval[1]);
    const half = Math.min(8, (bar.width ?? 16) / 4);
    g.strokeStyle = '#333333';
    g.lineWidth = 1.5;
    g.setLineDash([]);
    g.beginPath();
    g.moveTo(bar.x, lo);
    g.lineTo(bar.x, hi);
    g.moveTo(bar.x - half, lo);
    g.lineTo(bar.x + half, lo);
    g.moveTo(bar.x - half, hi);
    g.lineTo(bar.x + half, hi);
    g.stroke();
    top = Math.min(top, hi);
  }
  g.font = canvasFont(12, over ? 'bold' : 'normal');
  // A white plate keeps the label readable where a budget mark crosses it.
  const w = g.measureText(label).width;
  g.fillStyle = 'rgba(255, 255, 255, 0.85)';
  g.fillRect(bar.x - w / 2 - 2, top - 19, w + 4, 16);
  g.fillStyle = over ? '#c00000' : '#222222';
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillText(label, bar.x, top - 3);
}

/** Bars: budget marks over each category, each bar's marks and label, notes for runs that failed. */
function barMarksPlugin(spec: BarsSpec) {
  return {
    id: 'cbBarMarks',
    afterDatasetsDraw(chart: BarChartLike) {
      const y = chart.scales['y'];
      const x = chart.scales['x'];
      if (!y || !x) return;
      const g = chart.ctx;
      const a = chart.chartArea;
      const slot = (a.right - a.left) / Math.max(1, spec.categories.length);
      g.save();
      drawCategoryBudgets(g, a, y, spec, slot);
      spec.groups.forEach((grp, gi) => {
        const meta = chart.getDatasetMeta(gi);
        if (meta.hidden) return;
        meta.data.forEach((bar, ci) => {
          const v = grp.values[ci];
          if (v === null || v === undefined) return;
          drawBarMarks(g, y, bar, grp.valueLabels[ci] ?? '', grp.over[ci] === true, grp.intervals?.[ci]);
        });
      });
      spec.notes.forEach((note, ci) => {
        if (!note) return;
        g.font = canvasFont(14, 'bold');
        g.fillStyle = '#c00000';
        g.textAlign = 'center';
        g.textBaseline = 'top';
        g.fillText(note, a.left + slot * (ci + 0.5), a.top + 8);
      });
      g.restore();
    },
  };
}

// ---------------------------------------------------------------------------------------
// Options shared by both kinds

/** Tooltips (interactive only): a bar's tips from its group, a point's from the point itself. */
function tooltipOptions(spec: ChartSpec, interactive: boolean) {
  if (!interactive) return { enabled: false };
  return {
    enabled: true,
    titleFont: font(14, 'bold'),
    bodyFont: font(13),
    callbacks: {
      title: (items: Array<{ dataset: { label?: string } }>) => items[0]?.dataset.label ?? '',
      label: (item: { raw: unknown; dataIndex: number; datasetIndex: number }) => {
        if (spec.kind === 'bars') return spec.groups[item.datasetIndex]?.tips[item.dataIndex] ?? '';
        const raw = item.raw as { tip?: string[] } | null;
        return raw && raw.tip ? raw.tip : '';
      },
    },
  };
}

/** The memory axis, and the secondary axis when the spec has one. */
function yScales(spec: ChartSpec): Record<string, unknown> {
  const scales: Record<string, unknown> = {
    y: {
      type: 'linear',
      position: 'left',
      min: 0,
      max: spec.yMax,
      title: { display: true, text: spec.yLabel, font: font(14), color: '#222' },
      ticks: { font: font(14), color: '#222' },
      grid: { color: '#e6e6e6' },
    },
  };
  if (spec.y2) {
    scales['y2'] = {
      type: 'linear',
      position: 'right',
      min: 0,
      max: spec.yMax * spec.y2.factor,
      title: { display: true, text: spec.y2.label, font: font(14), color: '#555' },
      ticks: { font: font(13), color: '#555' },
      grid: { drawOnChartArea: false },
    };
  }
  return scales;
}

/** Title, subtitle, legend and tooltip options. */
function pluginOptions(spec: ChartSpec, interactive: boolean) {
  return {
    title: { display: true, text: spec.title, font: font(16, 'bold'), color: '#111', padding: { top: 6, bottom: spec.subtitle ? 2 : 8 } },
    subtitle: { display: !!spec.subtitle, text: spec.subtitle ?? '', font: font(13), color: '#555', padding: { bottom: 6 } },
    legend: { display: true, position: 'top', labels: { font: font(14), color: '#222', usePointStyle: false, boxWidth: 28 } },
    tooltip: tooltipOptions(spec, interactive),
  };
}

/** Interactive: resizes with the page. Static (PNG): a fixed size, no events. */
function sizingOptions(interactive: boolean) {
  return {
    responsive: interactive,
    maintainAspectRatio: true,
    aspectRatio: 2,
    animation: false,
    ...(interactive ? {} : { devicePixelRatio: 1, events: [] as string[] }),
  };
}

// ---------------------------------------------------------------------------------------
// The two kinds

/** Grouped bars per category (peak/final per strategy), budgets drawn by a plugin and listed in the legend. */
function barsConfig(spec: BarsSpec, interactive: boolean): ChartConfiguration {
  const plugins = pluginOptions(spec, interactive);
  return {
    type: 'bar',
    data: {
      labels: spec.categories,
      datasets: spec.groups.map((grp) => ({
        label: grp.label,
        data: grp.values,
        backgroundColor: grp.color,
        borderColor: grp.color,
        borderWidth: 1,
        yAxisID: 'y',
      })),
    },
    options: {
      ...sizingOptions(interactive),
      layout: { padding: { left: 8, right: 12, top: 0, bottom: 4 } },
      scales: {
        x: { ticks: { font: font(15, 'bold'), color: '#222' }, grid: { display: false } },
        ...yScales(spec),
      },
      plugins: {
        ...plugins,
        legend: {
          ...plugins.legend,
          labels: {
            ...plugins.legend.labels,
            // Budget marks are drawn by a plugin; list them in the legend too, dashed.
            generateLabels: (chart: VisibilityChart) => [
              ...spec.groups.map((grp, i) => ({ text: grp.label, fillStyle: grp.color, strokeStyle: grp.color, lineWidth: 1, hidden: !chart.isDatasetVisible(i), datasetIndex: i, fontColor: '#222' })),
              ...spec.categoryBudgets.map((b) => ({ text: b.label, fillStyle: '#ffffff', strokeStyle: b.color, lineWidth: 2.5, lineDash: [5, 3], hidden: false, fontColor: '#222' })),
            ],
          },
          // A budget's entry has no dataset to hide.
          onClick: (_e: unknown, item: { datasetIndex?: number }, legend: { chart: VisibilityChart & { setDatasetVisibility(i: number, v: boolean): void; update(): void } }) => {
            if (item.datasetIndex === undefined) return;
            legend.chart.setDatasetVisibility(item.datasetIndex, !legend.chart.isDatasetVisible(item.datasetIndex));
            legend.chart.update();
          },
        },
      },
    },
    plugins: [backgroundPlugin(), barMarksPlugin(spec)],
  } as unknown as ChartConfiguration;
}

/** Lines over a linear x axis (time, or N datasets), with step lanes, budget lines and notes. */
function linesConfig(spec: LinesSpec, interactive: boolean): ChartConfiguration {
  const plugins = pluginOptions(spec, interactive);
  return {
    type: 'line',
    data: {
      datasets: spec.datasets.map((d) => ({
        label: d.label,
        data: d.points,
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        borderColor: d.faint ? alpha(d.color, 0.6) : d.color,
        backgroundColor: d.color,
        borderWidth: d.width ?? (d.dashed ? 2 : 2.5),
        borderDash: d.dashed ? [9, 6] : [],
        stepped: d.stepped ? 'after' : false,
        pointRadius: d.points.map((p) => (p.marker ? 4.5 : 0)),
        pointHoverRadius: interactive ? 6 : 0,
        pointHitRadius: interactive ? 6 : 0,
        pointStyle: 'triangle',
        spanGaps: false,
        tension: 0,
        yAxisID: 'y',
      })),
    },
    options: {
      ...sizingOptions(interactive),
      // Room left of the y axis for the lane names (the axis itself is ~75 px wide).
      layout: { padding: { left: Math.max(8, Math.max(0, ...spec.lanes.map((l) => l.label.length)) * 9.5 + 20 - 60), right: 12, top: 0, bottom: spec.lanes.length > 0 ? spec.lanes.length * LANE_H + 10 : 4 } },
      interaction: { mode: 'nearest', intersect: false, axis: 'xy' },
      scales: {
        x: {
          type: 'linear',
          ...(spec.xMin !== undefined ? { min: spec.xMin } : {}),
          ...(spec.xMax !== undefined ? { max: spec.xMax } : {}),
          title: { display: true, text: spec.xLabel, font: font(14), color: '#222' },
          ticks: { font: font(14), color: '#222', ...(spec.xIntegers ? { stepSize: 1, precision: 0 } : {}) },
          ...(spec.xIntegers ? { afterBuildTicks: (axis: { ticks: Array<{ value: number }> }) => { axis.ticks = axis.ticks.filter((t) => Number.isInteger(t.value)); } } : {}),
          grid: { color: '#eeeeee' },
        },
        ...yScales(spec),
      },
      // Legend entries as short line samples, so dashed (predicted, final) series read as dashed.
      plugins: {
        ...plugins,
        legend: {
          ...plugins.legend,
          labels: {
            ...plugins.legend.labels,
            usePointStyle: true,
            pointStyleWidth: 40,
            // Chart.js takes a point-style legend's look from the point, which has no dash.
            generateLabels: (chart: VisibilityChart) =>
              spec.datasets.map((d, i) => ({ text: d.label, fillStyle: d.color, strokeStyle: d.color, lineWidth: 2.5, lineDash: d.dashed ? [6, 4] : [], pointStyle: 'line', hidden: !chart.isDatasetVisible(i), datasetIndex: i, fontColor: '#222' })),
          },
        },
      },
    },
    plugins: [backgroundPlugin(), lanesPlugin(spec), budgetLinesPlugin(spec)],
  } as unknown as ChartConfiguration;
}

/**
 * The Chart.js configuration of a spec. `interactive` adds tooltips and resizing (HTML);
 * without it the chart is a fixed-size static image (PNG).
 */
export function chartConfigFromSpec(spec: ChartSpec, interactive: boolean): ChartConfiguration {
  return spec.kind === 'bars' ? barsConfig(spec, interactive) : linesConfig(spec, interactive);
}

/** Every function the page needs, `chartConfigFromSpec` and what it calls. */
const SHIPPED = [
  font, canvasFont, alpha, fitText,
  backgroundPlugin, budgetLinesPlugin, lanesPlugin, drawCategoryBudgets, drawBarMarks, barMarksPlugin,
  tooltipOptions, yScales, pluginOptions, sizingOptions, barsConfig, linesConfig, chartConfigFromSpec,
];

/**
 * `chartConfigFromSpec` as a JavaScript expression for a page's script: the source text of
 * the shipped functions and constants in a function scope of their own, evaluating to
 * `chartConfigFromSpec`. It needs nothing from outside (checked in a bare `node:vm` context).
 */
export function chartConfigScript(): string {
  const constants = Object.entries(SHIPPED_CONSTANTS).map(([name, value]) => `const ${name} = ${JSON.stringify(value)};`);
  return [
    '(function () {',
    '"use strict";',
    // Bundlers that keep function names (esbuild keepNames) wrap inner functions in __name().
    'var __name = function (target) { return target; };',
    ...constants,
    ...SHIPPED.map((f) => f.toString()),
    'return chartConfigFromSpec;',
    '})()',
  ].join('\n');
}
