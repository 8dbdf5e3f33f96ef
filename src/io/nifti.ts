/**
 * NIfTI-1 and NIfTI-2 images (.nii, .nii.gz, .hdr/.img pairs), read and written without a
 * dependency: the headers are fixed-offset binary records, and nifti-reader-js is ESM-only
 * (not loadable synchronously from this CommonJS package on Node 20).
 */
import { DType, DTYPE_BYTES, elementsAt, fileError, gzipIfNamed, littleEndianBytes, readHead, readMaybeGzipped, toFloat32, writeFileBytes } from './binary';
import { Affine, identityAffine } from './affine';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7] as stored: dim[0] is the number of dimensions. */
  dim: number[];
  datatype: number;
  bitpix: number;
  /** pixdim[0..7]; pixdim[0] is qfac. */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z */
  srow: number[][];
  intentCode: number;
  intentName: string;
  description: string;
  magic: string;
}

export interface NiftiImage {
  /** [nx, ny, nz, nt, ...]: at least three entries. */
  dims: number[];
  /** nx * ny * nz */
  nvox: number;
  /** product of the dimensions beyond the third */
  nvol: number;
  /** volume-major: volume v occupies [v * nvox, (v + 1) * nvox), x fastest */
  data: Float32Array;
  /** 4x4 voxel -> world: sform if sform_code > 0, else qform if qform_code > 0, else pixdim scaling */
  affine: Affine;
  header: NiftiHeader;
}

/** Everything about a NIfTI file except its voxel values: where and how they are stored. */
export interface NiftiLayout extends Omit<NiftiImage, 'data'> {
  /** the file holding the voxel values (the .img of a pair) */
  dataPath: string;
  dataOffset: number;
  dtype: DType;
  /** value = stored * slope + inter */
  slope: number;
  inter: number;
}

const NIFTI_DTYPES: Record<number, DType> = {
  2: 'uint8',
  4: 'int16',
  8: 'int32',
  16: 'float32',
  64: 'float64',
  256: 'int8',
  512: 'uint16',
  768: 'uint32',
  1024: 'int64',
  1280: 'uint64',
};
const UNSUPPORTED_DTYPES: Record<number, string> = {
  1: 'binary',
  32: 'complex64',
  128: 'rgb24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};
const NIFTI1_HEADER_BYTES = 348;
const NIFTI2_HEADER_BYTES = 540;

/** The header file and the data file of a NIfTI path: the same file unless it is one of a .hdr/.img pair. */
function niftiFiles(path: string): { headerPath: string; dataPath: string; pair: boolean } {
  const pair = /\.(hdr|img)(\.gz)?$/i.exec(path);
  if (!pair) return { headerPath: path, dataPath: path, pair: false };
  const stem = path.slice(0, pair.index);
  const gz = pair[2] ?? '';
  return { headerPath: `${stem}.hdr${gz}`, dataPath: `${stem}.img${gz}`, pair: true };
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return Buffer.from(field.subarray(0, end < 0 ? length : end)).toString('latin1');
}

export function parseNiftiHeader(path: string, bytes: Uint8Array): NiftiHeader {
  if (bytes.length < 4) throw fileError(path, `truncated NIfTI header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  const littleEndian = sizeLE === NIFTI1_HEADER_BYTES || sizeLE === NIFTI2_HEADER_BYTES;
  const headerBytes = littleEndian ? sizeLE : sizeBE;
  if (headerBytes !== NIFTI1_HEADER_BYTES && headerBytes !== NIFTI2_HEADER_BYTES) {
    throw fileError(path, `not a NIfTI file (sizeof_hdr is ${sizeLE}, expected 348 or 540)`);
  }
  if (bytes.length < headerBytes) throw fileError(path, `truncated NIfTI header (${bytes.length} of ${headerBytes} bytes)`);
  const le = littleEndian;
  const i16 = (o: number) => view.getInt16(o, le);
  const i32 = (o: number) => view.getInt32(o, le);
  const i64 = (o: number) => Number(view.getBigInt64(o, le));
  const f32 = (o: number) => view.getFloat32(o, le);
  const f64 = (o: number) => view.getFloat64(o, le);
  const range = <T>(n: number, at: (k: number) => T): T[] => Array.from({ length: n }, (_, k) => at(k));

  if (headerBytes === NIFTI1_HEADER_BYTES) {
    const magic = cString(bytes, 344, 4);
    if (magic !== 'n+1' && magic !== 'ni1')
      throw fileError(path, `wrong magic ${JSON.stringify(magic)} (expected "n+1" or "ni1"; ANALYZE 7.5 is not supported)`);
    return {
      version: 1,
      littleEndian,
      magic,
      dim: range(8, (k) => i16(40 + 2 * k)),
      intentCode: i16(68),
      datatype: i16(70),
      bitpix: i16(72),
      pixdim: range(8, (k) => f32(76 + 4 * k)),
      voxOffset: f32(108),
      sclSlope: f32(112),
      sclInter: f32(116),
      description: cString(bytes, 148, 80),
      qformCode: i16(252),
      sformCode: i16(254),
      quatern: [f32(256), f32(260), f32(264)],
      qoffset: [f32(268), f32(272), f32(276)],
      srow: range(3, (r) => range(4, (c) => f32(280 + 16 * r + 4 * c))),
      intentName: cString(bytes, 328, 16),
    };
  }
  const magic = cString(bytes, 4, 8);
  if (magic !== 'n+2' && magic !== 'ni2') throw fileError(path, `wrong magic ${JSON.stringify(magic)} (expected "n+2" or "ni2")`);
  return {
    version: 2,
    littleEndian,
    magic,
    datatype: i16(12),
    bitpix: i16(14),
    dim: range(8, (k) => i64(16 + 8 * k)),
    pixdim: range(8, (k) => f64(104 + 8 * k)),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    description: cString(bytes, 240, 80),
    qformCode: i32(344),
    sformCode: i32(348),
    quatern: [f64(352), f64(360), f64(368)],
    qoffset: [f64(376), f64(384), f64(392)],
    srow: range(3, (r) => range(4, (c) => f64(400 + 32 * r + 8 * c))),
    intentCode: i32(504),
    intentName: cString(bytes, 508, 16),
  };
}

/** Voxel -> world from the quaternion representation (nifti1_io's quatern_to_mat44). */
function qformAffine(h: NiftiHeader): Affine {
  let [b, c, d] = h.quatern;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const norm = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= norm;
    c *= norm;
    d *= norm;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const xd = h.pixdim[1] > 0 ? h.pixdim[1] : 1;
  const yd = h.pixdim[2] > 0 ? h.pixdim[2] : 1;
  const zd = (h.pixdim[3] > 0 ? h.pixdim[3] : 1) * (h.pixdim[0] < 0 ? -1 : 1);
  const [qx, qy, qz] = h.qoffset;
  return [
    [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, qx],
    [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, qy],
    [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, qz],
    [0, 0, 0, 1],
  ];
}

function headerAffine(h: NiftiHeader): Affine {
  if (h.sformCode > 0) return [...h.srow.map((row) => [...row]), [0, 0, 0, 1]];
  if (h.qformCode > 0) return qformAffine(h);
  const scale = (k: number) => (h.pixdim[k] > 0 ? h.pixdim[k] : 1);
  return [
    [scale(1), 0, 0, 0],
    [0, scale(2), 0, 0],
    [0, 0, scale(3), 0],
    [0, 0, 0, 1],
  ];
}

function layoutFromHeader(path: string, header: NiftiHeader, dataPath: string, pair: boolean): NiftiLayout {
  const ndim = header.dim[0];
  if (!(ndim >= 1 && ndim <= 7)) throw fileError(path, `invalid dim[0] = ${ndim} (must be 1..7)`);
  const stored = header.dim.slice(1, ndim + 1);
  const bad = stored.findIndex((n) => !(n >= 1));
  if (bad >= 0) throw fileError(path, `invalid dim[${bad + 1}] = ${stored[bad]}`);
  const dims = [...stored, 1, 1, 1].slice(0, Math.max(3, ndim));
  const dtype = NIFTI_DTYPES[header.datatype];
  if (!dtype) {
    const name = UNSUPPORTED_DTYPES[header.datatype];
    throw fileError(path, `unsupported NIfTI datatype ${header.datatype}${name ? ` (${name})` : ''}`);
  }
  const minOffset = pair ? 0 : header.version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES;
  if (!(header.voxOffset >= minOffset)) throw fileError(path, `invalid vox_offset ${header.voxOffset}`);
  // scl_slope 0 (or NaN) means "no scaling" in NIfTI.
  const scaled = Number.isFinite(header.sclSlope) && header.sclSlope !== 0;
  return {
    dims,
    nvox: dims[0] * dims[1] * dims[2],
    nvol: dims.slice(3).reduce((p, n) => p * n, 1),
    affine: headerAffine(header),
    header,
    dataPath,
    dataOffset: Math.floor(header.voxOffset),
    dtype,
    slope: scaled ? header.sclSlope : 1,
    inter: scaled && Number.isFinite(header.sclInter) ? header.sclInter : 0,
  };
}

/** Header only (a .nii.gz is inflated only as far as its header). */
export function readNiftiLayout(path: string): NiftiLayout {
  const files = niftiFiles(path);
  const head = readHead(files.headerPath, NIFTI2_HEADER_BYTES);
  return layoutFromHeader(path, parseNiftiHeader(files.headerPath, head), files.dataPath, files.pair);
}

/** Decodes the values described by `layout` from the (decompressed) bytes of its data file. */
export function decodeNiftiData(layout: NiftiLayout, bytes: Uint8Array): Float32Array {
  const count = layout.nvox * layout.nvol;
  const needed = layout.dataOffset + count * DTYPE_BYTES[layout.dtype];
  if (bytes.length < needed) {
    throw fileError(layout.dataPath, `truncated NIfTI data: ${count} ${layout.dtype} values need ${needed} bytes, file has ${bytes.length}`);
  }
  const values = elementsAt(bytes, layout.dataOffset, count, layout.dtype, layout.header.littleEndian);
  return toFloat32(values, layout.slope, layout.inter);
}

export function readNifti(path: string): NiftiImage {
  const files = niftiFiles(path);
  const headerBytes = readMaybeGzipped(files.headerPath);
  const layout = layoutFromHeader(path, parseNiftiHeader(files.headerPath, headerBytes), files.dataPath, files.pair);
  const dataBytes = files.pair ? readMaybeGzipped(files.dataPath) : headerBytes;
  const { dims, nvox, nvol, affine, header } = layout;
  return { dims, nvox, nvol, data: decodeNiftiData(layout, dataBytes), affine, header };
}

export interface NiftiWriteInput {
  /** [nx, ny, nz, ...] with nx * ny * nz * ... === data.length */
  dims: number[];
  data: Float32Array | Int32Array;
  /** voxel -> world; identity when omitted */
  affine?: Affine;
}

/** Polar decomposition's orthogonal factor by Newton iteration X <- (X + X^-T) / 2. */
function nearestOrthogonal(m: number[][]): number[][] {
  let x = m.map((row) => [...row]);
  for (let iter = 0; iter < 100; iter++) {
    const [[a, b, c], [d, e, f], [g, h, i]] = x;
    const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    // inverse transpose = cofactor matrix / det
    const invT = [
      [(e * i - f * h) / det, -(d * i - f * g) / det, (d * h - e * g) / det],
      [-(b * i - c * h) / det, (a * i - c * g) / det, -(a * h - b * g) / det],
      [(b * f - c * e) / det, -(a * f - c * d) / det, (a * e - b * d) / det],
    ];
    const next = x.map((row, r) => row.map((v, k) => (v + invT[r][k]) / 2));
    const change = Math.max(...next.flatMap((row, r) => row.map((v, k) => Math.abs(v - x[r][k]))));
    x = next;
    if (change < 1e-14) break;
  }
  return x;
}

/** The qform of an affine (nifti1_io's mat44_to_quatern): quaternion b, c, d, voxel sizes and qfac. */
function affineToQuaternion(affine: Affine): { quatern: [number, number, number]; pixdim: [number, number, number]; qfac: number } {
  const column = (k: number) => [affine[0][k], affine[1][k], affine[2][k]];
  const sizes = [0, 1, 2].map((k) => Math.hypot(...column(k)));
  const unit = [0, 1, 2].map((k) => (sizes[k] > 0 ? column(k).map((v) => v / sizes[k]) : [0, 1, 2].map((r) => (r === k ? 1 : 0))));
  const rot = nearestOrthogonal([0, 1, 2].map((r) => [unit[0][r], unit[1][r], unit[2][r]]));
  const det =
    rot[0][0] * (rot[1][1] * rot[2][2] - rot[1][2] * rot[2][1]) -
    rot[0][1] * (rot[1][0] * rot[2][2] - rot[1][2] * rot[2][0]) +
    rot[0][2] * (rot[1][0] * rot[2][1] - rot[1][1] * rot[2][0]);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (const row of rot) row[2] = -row[2];
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = rot;
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  const pixdim = sizes.map((s) => (s > 0 ? s : 1)) as [number, number, number];
  return { quatern: [b, c, d], pixdim, qfac };
}

/** The 352 bytes (header + empty extension flag) of a single-file NIfTI-1 image. */
function nifti1Header(dims: number[], datatype: number, affine: Affine): Uint8Array {
  const bytes = new Uint8Array(NIFTI1_HEADER_BYTES + 4);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, NIFTI1_HEADER_BYTES, true);
  bytes[38] = 'r'.charCodeAt(0); // "regular", for ANALYZE readers
  view.setInt16(40, dims.length, true);
  for (let k = 1; k <= 7; k++) view.setInt16(40 + 2 * k, dims[k - 1] ?? 1, true);
  view.setInt16(70, datatype, true);
  view.setInt16(72, 32, true); // both float32 and int32
  const q = affineToQuaternion(affine);
  const pixdim = [q.qfac, ...q.pixdim, 1, 1, 1, 1];
  pixdim.forEach((v, k) => view.setFloat32(76 + 4 * k, v, true));
  view.setFloat32(108, NIFTI1_HEADER_BYTES + 4, true);
  view.setFloat32(112, 1, true); // scl_slope 1, scl_inter 0: values stored as they are
  bytes[123] = 2; // xyzt_units: millimetres
  Buffer.from(bytes.buffer).write('neurolmm', 148, 80, 'latin1');
  view.setInt16(252, 2, true); // qform_code and sform_code: NIFTI_XFORM_ALIGNED_ANAT
  view.setInt16(254, 2, true);
  q.quatern.forEach((v, k) => view.setFloat32(256 + 4 * k, v, true));
  [0, 1, 2].forEach((r) => view.setFloat32(268 + 4 * r, affine[r][3], true));
  [0, 1, 2].forEach((r) => affine[r].forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, true)));
  Buffer.from(bytes.buffer).write('n+1\0', 344, 4, 'latin1');
  return bytes;
}

/** Writes a single-file NIfTI-1 image (float32 or int32); `.nii.gz` is gzipped. */
export function writeNifti(path: string, image: NiftiWriteInput): void {
  const { dims, data } = image;
  if (dims.length < 1 || dims.length > 7) throw fileError(path, `NIfTI images have 1 to 7 dimensions, got ${dims.length}`);
  const tooLarge = dims.find((n) => !Number.isInteger(n) || n < 1 || n > 32767);
  if (tooLarge !== undefined) throw fileError(path, `dimension ${tooLarge} is outside NIfTI-1's range 1..32767`);
  const count = dims.reduce((p, n) => p * n, 1);
  if (count !== data.length) throw fileError(path, `dimensions [${dims.join(', ')}] hold ${count} values but the data have ${data.length}`);
  const datatype = data instanceof Int32Array ? 8 : 16;
  const header = nifti1Header(dims, datatype, image.affine ?? identityAffine());
  writeFileBytes(path, gzipIfNamed(path, [header, littleEndianBytes(data)]));
}
