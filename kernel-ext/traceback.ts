/**
 * Turns what a cell threw into Jupyter's error content (ename, evalue, traceback) without the
 * kernel's own frames: node:vm, tslab and kernel-ext frames are dropped, frames of cell code are
 * shown as `<cell>` (their line numbers refer to the transpiled JavaScript, not the cell).
 */
import { inspect } from 'node:util';

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

const KERNEL_FRAME = /\(?node:(vm|internal)|[\\/]tslab[\\/]dist[\\/]|[\\/]kernel-ext[\\/]/;
const CELL_LOCATION = /evalmachine\.<anonymous>:\d+:\d+/g;
/** tslab rejects an awaited cell with this message on SIGINT. */
const TSLAB_ASYNC_INTERRUPT = 'Interrupted asynchronously';

/** User errors (DataError, ModelError, FormulaError...) are explained by their message alone. */
function isNeurolmmError(error: Error): boolean {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'NeurolmmError') return true;
  }
  return false;
}

function isInterrupt(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' || e?.message === TSLAB_ASYNC_INTERRUPT;
}

export function describeError(error: unknown): ErrorContent {
  if (isInterrupt(error)) {
    const evalue = 'cell execution was interrupted';
    return { ename: 'Interrupted', evalue, traceback: [`Interrupted: ${evalue}`] };
  }
  if (!(error instanceof Error)) {
    // `throw "text"` and friends: no stack to show.
    const evalue = inspect(error);
    return { ename: 'Uncaught', evalue, traceback: [`Uncaught ${evalue}`] };
  }
  const ename = error.name || error.constructor?.name || 'Error';
  const evalue = error.message;
  const frames = isNeurolmmError(error)
    ? []
    : (error.stack ?? '')
        .split('\n')
        .filter((line) => /^\s+at /.test(line) && !KERNEL_FRAME.test(line))
        .map((line) => line.replace(CELL_LOCATION, '<cell>'))
        // The cell's own top level says nothing beyond "in the cell".
        .filter((line) => line.trim() !== 'at <cell>');
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
}

/** TypeScript diagnostics of a cell as an error (the cell did not run). */
export function describeDiagnostics(diagnostics: string[]): ErrorContent {
  const count = `${diagnostics.length} TypeScript error${diagnostics.length === 1 ? '' : 's'}`;
  return { ename: 'TSError', evalue: diagnostics[0], traceback: [`TSError: ${count}`, ...diagnostics.map((d) => `  ${d}`)] };
}
