/**
 * The globals every cell sees, and their TypeScript declarations for tslab's type checker
 * (which would otherwise reject `display(x)` as an unknown name). The declarations point at this
 * file's emitted .d.ts, so the types live in one place.
 */
import path from 'node:path';
import type { display } from '../src/display/mime';
import type { CommsApi } from './comm';
import type { WidgetsApi } from './widgets';

export interface CellGlobals {
  /** Shows a value as display_data (rich when it has `toMimeBundle()`). */
  display: typeof display;
  /** Jupyter widgets: `widgets.create({...})` (see kernel-ext/widgets.ts). */
  widgets: WidgetsApi;
  /** Jupyter comms: `comms.registerTarget`, `comms.open` (see kernel-ext/comm.ts). */
  comms: CommsApi;
}

export function installCellGlobals(globals: CellGlobals): void {
  Object.assign(globalThis, globals);
}

/** A module declaring the globals, to be added to tslab's program. */
export function cellGlobalsDeclaration(globals: CellGlobals): string {
  const typesModule = JSON.stringify(path.join(__dirname, 'cell-globals'));
  const members = Object.keys(globals).map((name) => `  const ${name}: import(${typesModule}).CellGlobals[${JSON.stringify(name)}];`);
  return `declare global {\n${members.join('\n')}\n}\n`;
}
