/**
 * FreeSurfer formats: triangle surfaces (?h.pial, ?h.white, ...), "new" curv files (?h.curv,
 * ?h.sulc, ?h.thickness) and MGH/MGZ volumes. All big-endian.
 */
import { Affine } from './affine';
import { DType, DTYPE_BYTES, elementsAt, fileError, readHead, readMaybeGzipped, toFloat32 } from './binary';

export interface Surface {
  /** 3 * nvertices: x, y, z of each vertex */
  vertices: Float32Array;
  /** 3 * nfaces: 0-based vertex indices of each triangle */
  faces: Int32Array;
  nvertices: number;
  nfaces: number;
}

/** Throws when a face refers to a vertex that does not exist. */
export function checkFaceIndices(path: string, faces: Int32Array, nvertices: number): void {
  for (let i = 0; i < faces.length; i++) {
    const v = faces[i];
    if (v < 0 || v >= nvertices) {
      throw fileError(path, `face ${Math.floor(i / 3)} refers to vertex ${v}, but the surface has ${nvertices} vertices`);
    }
  }
}

function hasMagic(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, k) => bytes[k] === b);
}

const TRIANGLE_MAGIC = [0xff, 0xff, 0xfe];
const QUAD_MAGIC = [0xff, 0xff, 0xfd];
const CURV_MAGIC = [0xff, 0xff, 0xff];

export function readSurface(path: string): Surface {
  const bytes = readMaybeGzipped(path);
  if (!hasMagic(bytes, TRIANGLE_MAGIC)) {
    if (hasMagic(bytes, QUAD_MAGIC)) throw fileError(path, 'quadrangle surfaces are not supported (only triangle surfaces, magic FF FF FE)');
    if (hasMagic(bytes, CURV_MAGIC)) throw fileError(path, 'is a curv file (magic FF FF FF), not a surface; use readCurv');
    throw fileError(path, 'wrong magic (expected FF FF FE of a FreeSurfer triangle surface)');
  }
  const commentEnd = bytes.indexOf('\n\n', 3, 'latin1');
  if (commentEnd < 0) throw fileError(path, 'corrupt surface: the comment line is not terminated by "\\n\\n"');
  const countsAt = commentEnd + 2;
  if (bytes.length < countsAt + 8) throw fileError(path, 'truncated surface: no vertex and face counts');
  const nvertices = bytes.readInt32BE(countsAt);
  const nfaces = bytes.readInt32BE(countsAt + 4);
  if (nvertices < 0 || nfaces < 0) throw fileError(path, `corrupt surface: ${nvertices} vertices, ${nfaces} faces`);
  const verticesAt = countsAt + 8;
  const facesAt = verticesAt + 12 * nvertices;
  const needed = facesAt + 12 * nfaces;
  if (bytes.length < needed) {
    throw fileError(path, `truncated surface: ${nvertices} vertices and ${nfaces} faces need ${needed} bytes, file has ${bytes.length}`);
  }
  const vertices = elementsAt(bytes, verticesAt, 3 * nvertices, 'float32', false) as Float32Array;
  const faces = elementsAt(bytes, facesAt, 3 * nfaces, 'int32', false) as Int32Array;
  checkFaceIndices(path, faces, nvertices);
  return { vertices, faces, nvertices, nfaces };
}

/** Where the values of a curv file sit: big-endian float32 from byte 15. */
export interface CurvLayout {
  nvertices: number;
  dataOffset: number;
}

const CURV_HEADER_BYTES = 15;

export function parseCurvHeader(path: string, head: Buffer): CurvLayout {
  if (!hasMagic(head, CURV_MAGIC)) {
    throw fileError(path, 'wrong magic (expected FF FF FF of a FreeSurfer "new" curv file; the old format is not supported)');
  }
  if (head.length < CURV_HEADER_BYTES) throw fileError(path, 'truncated curv header');
  const nvertices = head.readInt32BE(3);
  const valuesPerVertex = head.readInt32BE(11);
  if (nvertices < 0) throw fileError(path, `corrupt curv header: ${nvertices} vertices`);
  if (valuesPerVertex !== 1) throw fileError(path, `curv files with ${valuesPerVertex} values per vertex are not supported (expected 1)`);
  return { nvertices, dataOffset: CURV_HEADER_BYTES };
}

export function readCurvLayout(path: string): CurvLayout {
  return parseCurvHeader(path, readHead(path, CURV_HEADER_BYTES));
}

export function readCurv(path: string): Float32Array {
  const bytes = readMaybeGzipped(path);
  const { nvertices, dataOffset } = parseCurvHeader(path, bytes);
  const needed = dataOffset + 4 * nvertices;
  if (bytes.length < needed) throw fileError(path, `truncated curv data: ${nvertices} values need ${needed} bytes, file has ${bytes.length}`);
  return elementsAt(bytes, dataOffset, nvertices, 'float32', false) as Float32Array;
}

export interface MghImage {
  /** [width, height, depth] plus [nframes] when there is more than one frame */
  dims: number[];
  nvox: number;
  nvol: number;
  /** frame-major: frame f at [f * nvox, (f + 1) * nvox), x fastest */
  data: Float32Array;
  /** 4x4 voxel -> RAS (FreeSurfer's vox2ras) */
  affine: Affine;
}

export interface MghLayout extends Omit<MghImage, 'data'> {
  dtype: DType;
  dataOffset: number;
}

const MGH_HEADER_BYTES = 284;
const MGH_DTYPES: Record<number, DType> = { 0: 'uint8', 1: 'int32', 2: 'int32', 3: 'float32', 4: 'int16' };
const MGH_TYPE_NAMES: Record<number, string> = { 5: 'bitmap', 6: 'tensor' };

/** vox2ras = [Mdc * diag(delta), c_ras - Mdc * diag(delta) * dims / 2] (FreeSurfer's convention). */
function mghAffine(head: Buffer, size: number[]): Affine {
  const goodRas = head.readInt16BE(28) > 0;
  const f32 = (k: number) => head.readFloatBE(30 + 4 * k);
  const delta = goodRas ? [f32(0), f32(1), f32(2)] : [1, 1, 1];
  // Mdc is stored as x_r x_a x_s y_r y_a y_s z_r z_a z_s: direction (column) k at 3k..3k+2.
  // Without valid RAS information FreeSurfer assumes a coronal (LIA) volume.
  const mdc = goodRas ? Array.from({ length: 9 }, (_, k) => f32(3 + k)) : [-1, 0, 0, 0, 0, -1, 0, 1, 0];
  const center = goodRas ? [f32(12), f32(13), f32(14)] : [0, 0, 0];
  return [0, 1, 2]
    .map((r) => {
      const row = [0, 1, 2].map((k) => mdc[3 * k + r] * delta[k]);
      const shift = row.reduce((sum, v, k) => sum + v * (size[k] / 2), 0);
      return [...row, center[r] - shift];
    })
    .concat([[0, 0, 0, 1]]);
}

export function parseMghHeader(path: string, head: Buffer): MghLayout {
  if (head.length < MGH_HEADER_BYTES) throw fileError(path, `truncated MGH header (${head.length} of ${MGH_HEADER_BYTES} bytes)`);
  const version = head.readInt32BE(0);
  if (version !== 1) throw fileError(path, `wrong magic: MGH version ${version} (expected 1)`);
  const size = [4, 8, 12, 16].map((o) => head.readInt32BE(o));
  if (size.some((n) => n < 1)) throw fileError(path, `corrupt MGH header: dimensions ${size.join(' x ')}`);
  const type = head.readInt32BE(20);
  const dtype = MGH_DTYPES[type];
  if (!dtype) throw fileError(path, `unsupported MGH data type ${type}${MGH_TYPE_NAMES[type] ? ` (${MGH_TYPE_NAMES[type]})` : ''}`);
  const [width, height, depth, nframes] = size;
  return {
    dims: nframes > 1 ? size : size.slice(0, 3),
    nvox: width * height * depth,
    nvol: nframes,
    affine: mghAffine(head, size),
    dtype,
    dataOffset: MGH_HEADER_BYTES,
  };
}

export function readMghLayout(path: string): MghLayout {
  return parseMghHeader(path, readHead(path, MGH_HEADER_BYTES));
}

/** .mgh or .mgz (gzip is recognised by content). */
export function readMgh(path: string): MghImage {
  const bytes = readMaybeGzipped(path);
  const { dtype, dataOffset, ...image } = parseMghHeader(path, bytes);
  const count = image.nvox * image.nvol;
  const needed = dataOffset + count * DTYPE_BYTES[dtype];
  if (bytes.length < needed) throw fileError(path, `truncated MGH data: ${count} ${dtype} values need ${needed} bytes, file has ${bytes.length}`);
  return { ...image, data: toFloat32(elementsAt(bytes, dataOffset, count, dtype, false)) };
}
