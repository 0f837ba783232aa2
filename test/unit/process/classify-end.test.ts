// classifyEnd's sentences for each way a process can end, from the facts alone.
import { describe, expect, it } from 'vitest';
import { classifyEnd, type EndFacts } from '../../../harness/process/supervisor.js';

describe('classifyEnd', () => {
  const end = (f: Partial<EndFacts>): EndFacts => ({ code: null, signal: null, killedFor: null, tail: '', cgroupOomKill: false, ...f });

  it('out of memory: the output says so, or the cgroup counted an OOM kill', () => {
    const tail = 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n';
    expect(classifyEnd(end({ signal: 'SIGABRT', tail }), { subject: 'the child' })).toEqual({
      kind: 'oom',
      reason: 'out of memory: the child died with "JavaScript heap out of memory" (SIGABRT)',
    });
    expect(classifyEnd(end({ code: 1, tail: 'terminate called after throwing an instance of std::bad_alloc' }))).toEqual({
      kind: 'oom',
      reason: 'out of memory: the process died with "std::bad_alloc" (exit code 1)',
    });
    expect(classifyEnd(end({ signal: 'SIGKILL', cgroupOomKill: true }))).toEqual({
      kind: 'oom',
      reason: 'killed by the OOM killer (SIGKILL; the cgroup recorded an oom_kill)',
    });
  });

  it('a signal: SIGKILL nobody recorded is most likely memory; others are named', () => {
    const kill = classifyEnd(end({ signal: 'SIGKILL' }), { subject: 'the command' });
    expect(kill?.kind).toBe('signal');
    expect(kill?.reason).toMatch(/^killed by SIGKILL, most likely for memory .* or by hand$/);
    expect(classifyEnd(end({ signal: 'SIGKILL' }), { subject: 'the child', sigkill: 'killed by SIGKILL: the child' })?.reason).toBe(
      'killed by SIGKILL: the child',
    );
    expect(classifyEnd(end({ signal: 'SIGTERM' }))).toEqual({ kind: 'signal', reason: 'killed by SIGTERM' });
  });

  it('a timeout (or any end on purpose) is its recorded reason, whatever the signal and output', () => {
    const killedFor = { kind: 'timeout' as const, reason: 'timed out after 300 ms: sent SIGTERM, then SIGKILL after 400 ms' };
    expect(classifyEnd(end({ signal: 'SIGKILL', killedFor, tail: 'JavaScript heap out of memory' }))).toEqual(killedFor);
  });

  it('an exit code, with the first error line of the output; 0 is no failure', () => {
    const tail = 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: bad ratio\nRuntimeError: later\n';
    expect(classifyEnd(end({ code: 3, tail }))).toEqual({ kind: 'exit', reason: 'exited with code 3: ValueError: bad ratio' });
    expect(classifyEnd(end({ code: 3, tail }), { subject: 'the child', exitCode: (c) => `crashed with exit code ${c}` })?.reason).toBe(
      'crashed with exit code 3: ValueError: bad ratio',
    );
    expect(classifyEnd(end({ code: 3 }))).toEqual({ kind: 'exit', reason: 'exited with code 3' });
    expect(classifyEnd(end({ code: 0, tail }))).toBeNull();
  });
});
