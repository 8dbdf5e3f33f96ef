/** Worker thread of `ParallelCholesky`: updates its share of each panel when the generation moves. */
import { workerData } from 'node:worker_threads';
import { updatePanelColumns } from './dense';
import { panelShare, Slot } from './parallel-cholesky';

const { control, matrix, thread } = workerData as { control: Int32Array; matrix: Float64Array; thread: number };

// the pool starts at generation 0; a bump that came before this thread started is seen at once
let generation = 0;
for (;;) {
  Atomics.wait(control, Slot.Generation, generation);
  generation = Atomics.load(control, Slot.Generation);
  const n = control[Slot.N];
  const j0 = control[Slot.J0];
  const [from, to] = panelShare(j0, control[Slot.J1], thread, control[Slot.Workers]);
  updatePanelColumns(matrix, n, 0, j0, from, to);
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}
