/** Worker thread of `SupernodalPool`: runs its share of a kernel each time the generation moves. */
import { MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { runShare, Slot, SystemBuffers } from './supernodal-pool';

const { control, thread, port } = workerData as { control: Int32Array; thread: number; port: MessagePort };
let system: SystemBuffers | undefined;
let tile = new Float64Array(0);

// the pool starts at generation 0; a bump that came before this thread started is seen at once
let generation = 0;
for (;;) {
  Atomics.wait(control, Slot.Generation, generation);
  generation = Atomics.load(control, Slot.Generation);
  // a system posted before its first kernel: take the newest
  while (system?.id !== control[Slot.System]) {
    const message = receiveMessageOnPort(port);
    if (!message) throw new Error('supernodal worker: the system of a kernel was not posted');
    system = message.message as SystemBuffers;
    if (tile.length < system.tileLength) tile = new Float64Array(system.tileLength);
  }
  runShare(control, system, thread, tile);
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}
