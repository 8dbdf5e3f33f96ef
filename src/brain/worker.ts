/** Worker thread of the whole-brain engine: fits the chunks it is sent and posts their records back. */
import { parentPort, workerData } from 'worker_threads';
import type { ChunkTask } from './engine';
import { chunkFitter, type WorkerInit } from './lmerbrain';

const fitter = chunkFitter(workerData as WorkerInit);

parentPort!.on('message', (task: ChunkTask) => {
  try {
    const result = fitter.process(task);
    parentPort!.postMessage(result, [result.records.buffer as ArrayBuffer, result.status.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error)?.stack ?? String(err) });
  }
});
