/**
 * A BLMM result folder: one `blmm_vox_<name>.dat` per map, vertex-major (`[vertex][volume]`),
 * float32 except the integer maps n, mask and edf.
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { DataError } from '../errors';
import { fileError, fileSize } from './binary';
import { readDat } from './dat';

export interface BlmmMap {
  nvol: number;
  /** vertex-major: the nvol values of vertex i at [i * nvol, (i + 1) * nvol) */
  data: Float32Array | Int32Array;
}

export interface BlmmResults {
  dir: string;
  nvertices: number;
  maps: Map<string, BlmmMap>;
  /** The map `name` (e.g. 'beta', 'conT', 'mask'); DataError when the folder has none. */
  map(name: string): BlmmMap;
  /** Volume v (0-based) of map `name`: one value per vertex. */
  volume(name: string, v: number): Float32Array;
}

export const FSAVERAGE5_VERTICES = 10242;
const INTEGER_MAPS = new Set(['n', 'mask', 'edf']);
const FILE_PATTERN = /^blmm_vox_(.+)\.dat$/;

/**
 * Whether an int32-declared map actually holds float32 (BLMM's compare folders write a float32
 * mask). Vertex counts, masks and degrees of freedom are far below 2^24 as integers, while any
 * nonzero float32 reads as an integer of magnitude above 2^24.
 */
function storedAsFloat(values: Int32Array): boolean {
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]) >= 1 << 24) return true;
  return false;
}

function readMap(path: string, name: string, nvertices: number): BlmmMap {
  const bytes = fileSize(path);
  if (bytes % (4 * nvertices) !== 0) {
    throw fileError(path, `length ${bytes} bytes is not a whole number of volumes of ${nvertices} vertices x 4 bytes`);
  }
  const nvol = bytes / (4 * nvertices);
  if (!INTEGER_MAPS.has(name)) return { nvol, data: readDat(path, { type: 'float32' }) };
  const ints = readDat(path, { type: 'int32' });
  if (!storedAsFloat(ints)) return { nvol, data: ints };
  return { nvol, data: new Float32Array(ints.buffer, ints.byteOffset, ints.length) };
}

export function readBlmmResults(dir: string, options: { nvertices?: number } = {}): BlmmResults {
  let entries: string[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    entries = fs.readdirSync(dir).sort();
  } catch {
    throw new DataError(`BLMM results folder not found: ${dir}`);
  }
  const files = entries.filter((f) => FILE_PATTERN.test(f));
  if (files.length === 0) throw new DataError(`no blmm_vox_*.dat files in BLMM results folder ${dir}`);
  const maskPath = nodePath.join(dir, 'blmm_vox_mask.dat');
  const nvertices = options.nvertices ?? (files.includes('blmm_vox_mask.dat') ? fileSize(maskPath) / 4 : FSAVERAGE5_VERTICES);
  if (!(Number.isInteger(nvertices) && nvertices > 0)) throw fileError(maskPath, `cannot infer the number of vertices (${nvertices})`);

  const maps = new Map<string, BlmmMap>();
  for (const file of files) {
    const name = (FILE_PATTERN.exec(file) as RegExpExecArray)[1];
    maps.set(name, readMap(nodePath.join(dir, file), name, nvertices));
  }
  const map = (name: string): BlmmMap => {
    const found = maps.get(name);
    if (!found) throw new DataError(`no map '${name}' in BLMM results folder ${dir} (available: ${[...maps.keys()].join(', ')})`);
    return found;
  };
  const volume = (name: string, v: number): Float32Array => {
    const { nvol, data } = map(name);
    if (!(Number.isInteger(v) && v >= 0 && v < nvol)) throw new DataError(`map '${name}' in ${dir} has volumes 0..${nvol - 1}, asked for ${v}`);
    const out = new Float32Array(nvertices);
    for (let i = 0; i < nvertices; i++) out[i] = data[i * nvol + v];
    return out;
  };
  return { dir, nvertices, maps, map, volume };
}
