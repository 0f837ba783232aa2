// The step tracking of command scenarios, on its own: readings of a process tree and marker
// lines in, steps out. No process is started; the readings are what /proc would have said.
import { describe, expect, it } from 'vitest';
import {
  chooseBaseline,
  CommandStepTracker,
  netOfBaseline,
  type BaselineCandidate,
  type CommandStepRecord,
  type TreeReading,
} from '../../../harness/command/steps.js';
import { parseMarker, type Marker } from '../../../harness/command/markers.js';

const ROOT = 100;
const MB = 1e6;

/** A reading at `t` ms: pid → [RSS, VmHWM] in MB. */
function reading(t: number, procs: Record<number, [number, number]>): TreeReading {
  const perPid = new Map(Object.entries(procs).map(([p, [rss, hwm]]) => [Number(p), [rss * MB, hwm * MB] as const]));
  let rss = 0;
  for (const [r] of perPid.values()) rss += r;
  return { t, rss, perPid };
}

function marker(line: string): Marker {
  const m = parseMarker(line);
  if (!m) throw new Error(`not a marker: ${line}`);
  return m;
}

function tracker(opts: { hwmResets?: boolean; datasets?: string[] } = {}) {
  const closed: CommandStepRecord[] = [];
  const candidates: Array<[BaselineCandidate, number]> = [];
  const t = new CommandStepTracker({
    rootPid: () => ROOT,
    command: ['python3', 'train.py'],
    hwmResets: opts.hwmResets ?? true,
    ...(opts.datasets ? { datasets: opts.datasets } : {}),
    onStep: (s) => closed.push(s),
    onBaselineCandidate: (source, rss) => candidates.push([source, rss]),
  });
  return { t, closed, candidates };
}

const mb = (
  steps: readonly CommandStepRecord[],
  field: 'peak_bytes' | 'end_bytes' | 'self_peak_bytes' | 'descendants_peak_bytes',
): number[] => steps.map((s) => s[field] / MB);

describe('CommandStepTracker: markers close and open steps', () => {
  it('a ::step closes the open step with the highest VmHWM seen in it and opens the one it names', () => {
    const { t, closed } = tracker();
    t.started(reading(0, { [ROOT]: [50, 50] }));
    t.sample(reading(10, { [ROOT]: [60, 65] }));
    expect(t.marker(marker('::step load dataset_1'), reading(20, { [ROOT]: [70, 80] }), 20)).toBe('load dataset_1');
    // The caller reset VmHWM at the marker: the next step sees only its own peak.
    t.sample(reading(30, { [ROOT]: [120, 150] }));
    expect(t.marker(marker('::step prepare dataset_1'), reading(40, { [ROOT]: [90, 150] }), 40)).toBe('prepare dataset_1');
    expect(t.openName).toBe('prepare dataset_1');
    t.sample(reading(45, { [ROOT]: [100, 110] }));
    t.exited(50);

    const r = t.finish('zero');
    expect(r.steps.map((s) => [s.label, s.name, s.dataset, s.closed_by, s.start_ms, s.end_ms])).toEqual([
      ['startup', 'startup', null, 'marker', 0, 20],
      ['load dataset_1', 'load', 'dataset_1', 'marker', 20, 40],
      ['prepare dataset_1', 'prepare', 'dataset_1', 'exit', 40, 50],
    ]);
    expect(mb(r.steps, 'peak_bytes')).toEqual([80, 150, 110]);
    expect(mb(r.steps, 'end_bytes')).toEqual([70, 90, 100]);
    expect(r.peak_bytes).toBe(150 * MB);
    expect(r.markers).toBe(2);
    // Steps are handed out as they close, figures still absolute.
    expect(closed.map((s) => s.label)).toEqual(['startup', 'load dataset_1', 'prepare dataset_1']);
    for (const s of r.steps) expect([s.peak_is_upper_bound, s.processes, s.heap_used_bytes, s.live_bytes]).toEqual([false, 1, 0, 0]);
  });

  it('a [MEMORY] line closes the step its label names, keeps the printed figures, and opens none', () => {
    const { t } = tracker();
    t.started(reading(0, { [ROOT]: [40, 40] }));
    t.sample(reading(5, { [ROOT]: [300, 320] }));
    expect(
      t.marker(
        marker('[MEMORY After loading dataset_2] Used: 132.00 GB | Available: 268.00 GB | Total: 400.00 GB'),
        reading(10, { [ROOT]: [300, 320] }),
        10,
      ),
    ).toBeNull();
    t.exited(30);
    const [first, last] = t.finish('zero').steps;
    expect(first).toMatchObject({
      label: 'After loading dataset_2',
      name: 'load',
      dataset: 'dataset_2',
      closed_by: 'marker',
      reported_used_bytes: 132e9,
      reported_available_bytes: 268e9,
      reported_total_bytes: 400e9,
    });
    expect(first!.peak_bytes).toBe(320 * MB);
    expect(last).toMatchObject({ label: 'after the last marker, until exit', closed_by: 'exit' });
    expect(last!.reported_used_bytes).toBeUndefined();
  });

  it('without VmHWM resets the step peak is the highest RSS sampled, not the ever-rising VmHWM', () => {
    const { t } = tracker({ hwmResets: false });
    t.started(reading(0, { [ROOT]: [50, 500] }));
    t.marker(marker('::step split'), reading(10, { [ROOT]: [60, 500] }), 10);
    t.sample(reading(20, { [ROOT]: [140, 500] }));
    t.exited(30);
    expect(mb(t.finish('zero').steps, 'peak_bytes')).toEqual([60, 140]);
  });
});

describe('CommandStepTracker: the exit closes the last step', () => {
  it('a program without markers is one step, the whole run, ended by the exit', () => {
    const { t } = tracker();
    t.started(reading(0, { [ROOT]: [30, 30] }));
    t.sample(reading(10, { [ROOT]: [90, 95] }));
    t.exited(25);
    const r = t.finish('auto');
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0]).toMatchObject({ label: 'python3 train.py (whole run)', name: 'run', closed_by: 'exit', start_ms: 0, end_ms: 25 });
    expect(r.baseline).toEqual({ bytes: 30 * MB, source: 'start' });
    expect(r.steps[0]!.peak_bytes).toBe(65 * MB);
    expect(r.markers).toBe(0);
  });

  it('final_bytes is the RSS at a last bare ::step, not the teardown after it; after a named step it is the last reading', () => {
    const bare = tracker().t;
    bare.started(reading(0, { [ROOT]: [10, 10] }));
    bare.marker(marker('::step train'), reading(5, { [ROOT]: [20, 20] }), 5);
    expect(bare.marker(marker('::step'), reading(20, { [ROOT]: [90, 100] }), 20)).toBeNull();
    bare.sample(reading(30, { [ROOT]: [35, 40] }));
    bare.exited(40);
    const b = bare.finish('zero');
    expect(b.final_bytes).toBe(90 * MB);
    expect(b.steps.at(-1)).toMatchObject({ label: 'after the last marker, until exit', end_bytes: 35 * MB });

    const named = tracker().t;
    named.started(reading(0, { [ROOT]: [10, 10] }));
    named.marker(marker('::step train'), reading(20, { [ROOT]: [90, 100] }), 20);
    named.sample(reading(30, { [ROOT]: [35, 40] }));
    named.exited(40);
    expect(named.finish('zero').final_bytes).toBe(35 * MB);
  });

  it('a run that died mid-step ends in the step it was in, with what was seen so far', () => {
    const { t } = tracker();
    t.started(reading(0, { [ROOT]: [10, 10] }));
    t.marker(marker('::step load'), reading(5, { [ROOT]: [12, 12] }), 5);
    t.marker(marker('::step prepare'), reading(15, { [ROOT]: [40, 45] }), 15);
    t.sample(reading(20, { [ROOT]: [200, 210] }));
    // Killed: no reading at the end, the exit closes the step with the last one seen.
    t.exited(23);
    const r = t.finish('auto');
    expect(r.last_label).toBe('prepare');
    expect(r.steps.at(-1)).toMatchObject({
      label: 'prepare',
      closed_by: 'exit',
      end_ms: 23,
      end_bytes: (200 - 12) * MB,
      peak_bytes: (210 - 12) * MB,
    });
    expect(r.steps.map((s) => s.label)).toEqual(['startup', 'load', 'prepare']);
  });

  it('a command that never started has no steps and a zero baseline', () => {
    const r = tracker().t.finish('auto');
    expect(r).toMatchObject({
      steps: [],
      baseline: { bytes: 0, source: 'zero' },
      peak_bytes: 0,
      final_bytes: 0,
      markers: 0,
      max_processes: 0,
    });
    expect(r.last_label).toBeUndefined();
  });
});

describe('CommandStepTracker: the baseline', () => {
  /** A run: start reading 30 MB, first marker at 80 MB (a ::step or a [MEMORY] line), a step peaking at 200 MB. */
  function run(first: string, mode: 'auto' | 'first-marker' | 'zero') {
    const k = tracker();
    k.t.started(reading(0, { [ROOT]: [30, 30] }));
    k.t.marker(marker(first), reading(10, { [ROOT]: [80, 80] }), 10);
    k.t.sample(reading(20, { [ROOT]: [190, 200] }));
    k.t.marker(marker('::step next'), reading(30, { [ROOT]: [100, 200] }), 30);
    k.t.exited(40);
    return { ...k, r: k.t.finish(mode) };
  }

  it('auto: the RSS at the first ::step (runtime and imports loaded)', () => {
    const { r, candidates } = run('::step load', 'auto');
    expect(r.baseline).toEqual({ bytes: 80 * MB, source: 'first-step-marker' });
    expect(r.steps.find((s) => s.label === 'load')!.peak_bytes).toBe(120 * MB);
    expect(r.samples.map(([, b]) => b / MB)).toEqual([-50, 110]);
    // Only the first reading and the first marker are candidates, each once.
    expect(candidates).toEqual([
      ['start', 30 * MB],
      ['first-step-marker', 80 * MB],
    ]);
  });

  it('auto with a [MEMORY] line first: the RSS right after exec; first-marker takes that line anyway', () => {
    const auto = run('[MEMORY start] Used: 1 GB', 'auto');
    expect(auto.r.baseline).toEqual({ bytes: 30 * MB, source: 'start' });
    expect(auto.candidates.map(([s]) => s)).toEqual(['start', 'first-memory-marker']);
    expect(run('[MEMORY start] Used: 1 GB', 'first-marker').r.baseline).toEqual({ bytes: 80 * MB, source: 'first-step-marker' });
  });

  it('zero: figures stay absolute', () => {
    const { r } = run('::step load', 'zero');
    expect(r.baseline).toEqual({ bytes: 0, source: 'zero' });
    expect(r.peak_bytes).toBe(200 * MB);
  });

  it('chooseBaseline: no reading at all is a zero baseline whatever the mode', () => {
    for (const mode of ['auto', 'first-marker', 'zero'] as const) expect(chooseBaseline(mode, [])).toEqual({ bytes: 0, source: 'zero' });
    expect(chooseBaseline('first-marker', [{ source: 'start', rss: 7 }])).toEqual({ bytes: 7, source: 'start' });
  });

  it('netOfBaseline: the command itself carries the baseline, its descendants count in full', () => {
    const [s] = netOfBaseline([{ peak_bytes: 150, self_peak_bytes: 100, end_bytes: 90, descendants_peak_bytes: 50 }], 30);
    expect(s).toEqual({ peak_bytes: 120, self_peak_bytes: 70, end_bytes: 60, descendants_peak_bytes: 50 });
  });
});

describe('CommandStepTracker: descendants', () => {
  it('sums each process’s own peak over the step: an upper bound of the tree’s, and says so', () => {
    const { t } = tracker();
    t.started(reading(0, { [ROOT]: [20, 20] }));
    t.marker(marker('::step workers'), reading(5, { [ROOT]: [20, 20] }), 5);
    // The parent peaks while the worker is small, then the other way round: at no moment did
    // the tree hold 100 + 60 MB, but the sum of the peaks is what can be known.
    t.sample(reading(10, { [ROOT]: [100, 100], 200: [10, 10] }));
    t.sample(reading(20, { [ROOT]: [30, 100], 200: [60, 60] }));
    t.marker(marker('::step after'), reading(30, { [ROOT]: [30, 100], 200: [5, 60], 300: [40, 40] }), 30);
    // 300 exits before the next reading: it still counts with what it held at the marker.
    t.exited(40);
    const r = t.finish('zero');
    const workers = r.steps.find((s) => s.label.startsWith('workers'))!;
    expect(workers.label).toBe('workers (incl. children, upper bound)');
    expect([workers.self_peak_bytes, workers.descendants_peak_bytes, workers.peak_bytes].map((b) => b / MB)).toEqual([100, 100, 200]);
    expect(workers).toMatchObject({ peak_is_upper_bound: true, processes: 3 });
    const after = r.steps.at(-1)!;
    expect(after.descendants_peak_bytes).toBe(45 * MB);
    expect(r.max_processes).toBe(3);
    expect(r.steps[0]).toMatchObject({ label: 'startup', peak_is_upper_bound: false, processes: 1 });
  });
});
