/**
 * BLMM's raw `.dat` arrays: headerless little-endian float32 or int32, vertex-major
 * (`[vertex][volume]`: the volumes of vertex 0, then of vertex 1, ...).
 */
import { elementsAt, fileError, littleEndianBytes, readFileBytes, writeFileBytes } from './binary';

export type DatType = 'float32' | 'int32';

export interface DatReadOptions {
  type: DatType;
  /** when given, the file must hold a whole number of values per vertex */
  nvertices?: number;
}

export function readDat(path: string, options: DatReadOptions & { type: 'float32' }): Float32Array;
export function readDat(path: string, options: DatReadOptions & { type: 'int32' }): Int32Array;
export function readDat(path: string, options: DatReadOptions): Float32Array | Int32Array;
export function readDat(path: string, options: DatReadOptions): Float32Array | Int32Array {
  const bytes = readFileBytes(path);
  if (bytes.length % 4 !== 0) throw fileError(path, `length ${bytes.length} bytes is not a whole number of 4-byte ${options.type} values`);
  const count = bytes.length / 4;
  const { nvertices } = options;
  if (nvertices !== undefined && (nvertices < 1 || count % nvertices !== 0)) {
    throw fileError(path, `${count} values do not divide into ${nvertices} vertices (length mismatch)`);
  }
  return elementsAt(bytes, 0, count, options.type, true) as Float32Array | Int32Array;
}

export function writeDat(path: string, data: Float32Array | Int32Array): void {
  writeFileBytes(path, [littleEndianBytes(data)]);
}
