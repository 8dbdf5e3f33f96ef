/** Worker thread of `SupernodalPool`: runs its share of a kernel each time the generation moves. */
import { MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { KernelMemory } from './kernels';
import { runShare, Slot, spinThenWait, SystemBuffers } from './supernodal-pool';

const { control, thread, port } = workerData as { control: Int32Array; thread: number; port: MessagePort };
let system: SystemBuffers | undefined;
// the kernels on the system's kernel memory, where its matrices, panel, X and Y are
let kernels: KernelMemory | undefined;

// the pool starts at generation 0; a bump that came before this thread started is seen at once
let generation = 0;
for (;;) {
  spinThenWait(control, Slot.Generation, generation);
  if (Atomics.load(control, Slot.Generation) === generation) continue;
  generation = Atomics.load(control, Slot.Generation);
  // a system posted before its first kernel: take the newest
  while (system?.id !== control[Slot.System]) {
    const message = receiveMessageOnPort(port);
    if (!message) throw new Error('supernodal worker: the system of a kernel was not posted');
    system = message.message as SystemBuffers;
    kernels = new KernelMemory(system.memory);
  }
  runShare(control, system, thread, kernels!);
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}
