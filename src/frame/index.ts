export type { Cell, Column, Table, Factor, RandomTerm, FixedDesign, ModelFrame } from './types';
export { toTable, readCSV, tableOf, columnFromCells, type DataInput, type DataFrameLike } from './table';
export { factorOf, interactionFactor, sortLevels } from './factor';
export { modelFrame, type ModelFrameOptions } from './modelframe';
