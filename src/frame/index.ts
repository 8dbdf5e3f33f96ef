export type { Cell, Column, Table, Factor, RandomTerm, FixedDesign, ModelFrame } from './types';
export { toTable, readCSV, setColumnTypes, tableOf, columnFromCells, type ColumnType, type DataInput, type DataFrameLike } from './table';
export { factorCoding, defaultCoding, type ContrastSpec, type FactorCoding } from './contrasts';
export { factorOf, interactionFactor, sortLevels } from './factor';
export { modelFrame, type ModelFrameOptions } from './modelframe';
