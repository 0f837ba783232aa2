/** The helper thread of `split --digest` (see split-copy.ts): one side of the copy, then its digests. */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { announceHelper, serveCopyHelper } from './split-side.js';
import type { CopySide } from './split-side.js';

const { port, done } = workerData as { port: MessagePort; done: Int32Array };
parentPort?.once('message', (side: CopySide) => serveCopyHelper(port, done, side));
announceHelper(done);
