/**
 * Series of images of one geometry (one per subject/visit), read as an image-major matrix
 * `[image][voxel]`, whole or in voxel blocks with bounded memory, and result maps written back
 * in a format matching the inputs.
 *
 * Chunked reading: uncompressed files (.nii, .hdr/.img, .mgh, curv, .dat) are read in place with
 * positioned reads of each file's slice. Compressed or text-encoded files (.nii.gz, .mgz, GIfTI)
 * cannot be sliced, so by default each is decoded once into a raw float32 file in a temporary
 * folder (deleted by `close()`); with `cache: 'none'` they are decoded again for every chunk.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { DataError } from '../errors';
import { Affine } from './affine';
import { DType, DTYPE_BYTES, elementsAt, fileError, fileSize, isGzip, NATIVE_LITTLE_ENDIAN, readFileInto, readFileRange, toFloat32 } from './binary';
import { readDat, writeDat } from './dat';
import { readCurv, readCurvLayout, readMgh, readMghLayout } from './freesurfer';
import { readGifti, readGiftiShape, writeGifti } from './gifti';
import { readNifti, readNiftiLayout, writeNifti } from './nifti';

export type ImageFormat = 'nifti' | 'mgh' | 'gifti' | 'curv' | 'dat';

export interface ImageGeometry {
  /** 'surface' for per-vertex data (GIfTI, curv, .dat, and NIfTI/MGH shaped [n, 1, 1]) */
  kind: 'volume' | 'surface';
  format: ImageFormat;
  /** spatial dimensions: [nx, ny, nz] for NIfTI/MGH, [nvertices] otherwise */
  dims: number[];
  nvox: number;
  /** volumes (frames, data arrays) in the file */
  nvol: number;
  /** voxel -> world, for NIfTI and MGH */
  affine?: Affine;
}

/** Values stored uncompressed in a file, readable in place. */
interface StoredValues {
  file: string;
  offset: number;
  dtype: DType;
  littleEndian: boolean;
  slope: number;
  inter: number;
}

interface ImageSource {
  path: string;
  geometry: ImageGeometry;
  /** present when the values can be sliced straight from disk */
  stored?: StoredValues;
  /** all volumes, volume-major float32 */
  decode(): Float32Array;
}

function formatOf(path: string): ImageFormat {
  if (/\.(nii|hdr|img)(\.gz)?$/i.test(path)) return 'nifti';
  if (/\.(mgh|mgz|mgh\.gz)$/i.test(path)) return 'mgh';
  if (/\.gii$/i.test(path)) return 'gifti';
  if (/\.dat$/i.test(path)) return 'dat';
  const magic = readFileRange(path, 0, 3);
  if (magic.length === 3 && magic.every((b) => b === 0xff)) return 'curv';
  throw fileError(path, 'unrecognised image format (expected .nii, .nii.gz, .hdr/.img, .mgh, .mgz, .gii, .dat or a FreeSurfer curv file)');
}

/** Surface data saved by FreeSurfer as NIfTI/MGH are [nvertices, 1, 1]. */
function spatialKind(dims: number[]): 'volume' | 'surface' {
  return dims[1] === 1 && dims[2] === 1 ? 'surface' : 'volume';
}

/** The stored layout, unless the data file is compressed; checks the file is long enough. */
function storedIfUncompressed(path: string, values: StoredValues, count: number): StoredValues | undefined {
  if (isGzip(readFileRange(values.file, 0, 2))) return undefined;
  const needed = values.offset + count * DTYPE_BYTES[values.dtype];
  const size = fileSize(values.file);
  if (size < needed) throw fileError(path, `truncated data: ${count} ${values.dtype} values need ${needed} bytes, file has ${size}`);
  return values;
}

function describeImage(path: string): ImageSource {
  const format = formatOf(path);
  switch (format) {
    case 'nifti': {
      const l = readNiftiLayout(path);
      const dims = l.dims.slice(0, 3);
      const geometry: ImageGeometry = { kind: spatialKind(dims), format, dims, nvox: l.nvox, nvol: l.nvol, affine: l.affine };
      const values = { file: l.dataPath, offset: l.dataOffset, dtype: l.dtype, littleEndian: l.header.littleEndian, slope: l.slope, inter: l.inter };
      return { path, geometry, stored: storedIfUncompressed(path, values, l.nvox * l.nvol), decode: () => readNifti(path).data };
    }
    case 'mgh': {
      const l = readMghLayout(path);
      const dims = l.dims.slice(0, 3);
      const geometry: ImageGeometry = { kind: spatialKind(dims), format, dims, nvox: l.nvox, nvol: l.nvol, affine: l.affine };
      const values = { file: path, offset: l.dataOffset, dtype: l.dtype, littleEndian: false, slope: 1, inter: 0 };
      return { path, geometry, stored: storedIfUncompressed(path, values, l.nvox * l.nvol), decode: () => readMgh(path).data };
    }
    case 'curv': {
      const l = readCurvLayout(path);
      const geometry: ImageGeometry = { kind: 'surface', format, dims: [l.nvertices], nvox: l.nvertices, nvol: 1 };
      const values = { file: path, offset: l.dataOffset, dtype: 'float32' as const, littleEndian: false, slope: 1, inter: 0 };
      return { path, geometry, stored: storedIfUncompressed(path, values, l.nvertices), decode: () => readCurv(path) };
    }
    case 'dat': {
      const size = fileSize(path);
      if (size % 4 !== 0) throw fileError(path, `length ${size} bytes is not a whole number of float32 values`);
      const geometry: ImageGeometry = { kind: 'surface', format, dims: [size / 4], nvox: size / 4, nvol: 1 };
      const values = { file: path, offset: 0, dtype: 'float32' as const, littleEndian: true, slope: 1, inter: 0 };
      return { path, geometry, stored: values, decode: () => readDat(path, { type: 'float32' }) };
    }
    case 'gifti': {
      const { nvertices, nmaps } = readGiftiShape(path);
      const geometry: ImageGeometry = { kind: 'surface', format, dims: [nvertices], nvox: nvertices, nvol: nmaps };
      return { path, geometry, decode: () => concatVolumes(readGifti(path).arrays) };
    }
  }
}

function concatVolumes(arrays: Float32Array[]): Float32Array {
  if (arrays.length === 1) return arrays[0];
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Geometry of one image from its header (GIfTI: its XML), without reading its values. */
export function imageGeometry(path: string): ImageGeometry {
  return describeImage(path).geometry;
}

const shape = (g: ImageGeometry) => g.dims.join('x');

export interface ImageSeriesOptions {
  /** 'disk' (default): decode compressed images once into `cacheDir`; 'none': decode them at every chunk */
  cache?: 'disk' | 'none';
  /** parent of the temporary cache folder; os.tmpdir() by default */
  cacheDir?: string;
}

export interface ImageSeriesReader {
  readonly paths: string[];
  readonly nimages: number;
  readonly nvox: number;
  /** geometry of the first image (all share kind and dimensions) */
  readonly geometry: ImageGeometry;
  /** Voxels [voxelStart, voxelEnd) of every image: image-major, nimages x (voxelEnd - voxelStart). */
  readChunk(voxelStart: number, voxelEnd: number, out?: Float32Array): Float32Array;
  /** Deletes the decoded-image cache. */
  close(): void;
}

/**
 * Opens a series of single-volume images for chunked reading. Reads only headers here, and fails
 * on the first image whose kind, dimensions or volume count differs from the first image's.
 */
export function openImageSeries(paths: string[], options: ImageSeriesOptions = {}): ImageSeriesReader {
  if (paths.length === 0) throw new DataError('no images given');
  const sources = paths.map(describeImage);
  const first = sources[0].geometry;
  for (const source of sources) {
    const g = source.geometry;
    if (g.kind !== first.kind || shape(g) !== shape(first)) {
      throw fileError(source.path, `image dimensions ${g.kind} ${shape(g)} differ from ${paths[0]}'s ${first.kind} ${shape(first)}`);
    }
    if (g.nvol !== 1) throw fileError(source.path, `holds ${g.nvol} volumes; an image series needs one volume per file (split it first)`);
  }
  const nvox = first.nvox;
  const useDisk = (options.cache ?? 'disk') === 'disk';
  let cacheFolder: string | undefined;
  // decoded copies of the images that cannot be read in place, by image index
  let decodedCopies: (StoredValues | undefined)[] = [];

  const decodedCopy = (source: ImageSource, index: number): StoredValues => {
    cacheFolder ??= fs.mkdtempSync(nodePath.join(options.cacheDir ?? os.tmpdir(), 'neurolmm-images-'));
    const file = nodePath.join(cacheFolder, `${index}.f32`);
    writeDat(file, source.decode().subarray(0, nvox));
    return (decodedCopies[index] = { file, offset: 0, dtype: 'float32', littleEndian: true, slope: 1, inter: 0 });
  };

  const readChunk = (voxelStart: number, voxelEnd: number, out?: Float32Array): Float32Array => {
    if (!(Number.isInteger(voxelStart) && Number.isInteger(voxelEnd) && voxelStart >= 0 && voxelStart <= voxelEnd && voxelEnd <= nvox)) {
      throw new DataError(`voxel range [${voxelStart}, ${voxelEnd}) is outside the images' 0..${nvox}`);
    }
    const width = voxelEnd - voxelStart;
    const target = out ?? new Float32Array(sources.length * width);
    if (target.length < sources.length * width) throw new DataError(`output buffer holds ${target.length} values, the chunk needs ${sources.length * width}`);
    sources.forEach((source, index) => {
      const stored = source.stored ?? decodedCopies[index] ?? (useDisk ? decodedCopy(source, index) : undefined);
      if (!stored) {
        target.set(source.decode().subarray(voxelStart, voxelEnd), index * width);
        return;
      }
      const size = DTYPE_BYTES[stored.dtype];
      const position = stored.offset + voxelStart * size;
      // native floats need no conversion: read straight into the chunk
      const native = stored.dtype === 'float32' && stored.littleEndian === NATIVE_LITTLE_ENDIAN && stored.slope === 1 && stored.inter === 0;
      const bytes = native ? new Uint8Array(target.buffer, target.byteOffset + index * width * size, width * size) : Buffer.allocUnsafe(width * size);
      if (readFileInto(stored.file, position, bytes) < width * size) throw fileError(source.path, 'truncated data: the file shrank while being read');
      if (!native) toFloat32(elementsAt(bytes, 0, width, stored.dtype, stored.littleEndian), stored.slope, stored.inter, target, index * width);
    });
    return target;
  };

  const close = () => {
    if (cacheFolder) fs.rmSync(cacheFolder, { recursive: true, force: true });
    cacheFolder = undefined;
    decodedCopies = [];
  };

  return { paths, nimages: sources.length, nvox, geometry: first, readChunk, close };
}

export interface ImageSeries {
  /** image-major: image i at [i * nvox, (i + 1) * nvox) */
  data: Float32Array;
  nimages: number;
  nvox: number;
  geometry: ImageGeometry;
}

/** All images into one nimages x nvox matrix; every image must have the first one's dimensions. */
export function readImageSeries(paths: string[]): ImageSeries {
  const reader = openImageSeries(paths, { cache: 'none' });
  return { data: reader.readChunk(0, reader.nvox), nimages: reader.nimages, nvox: reader.nvox, geometry: reader.geometry };
}

/** Voxels [voxelStart, voxelEnd) of every image (image-major); for repeated blocks use openImageSeries. */
export function readImageChunk(paths: string[], voxelStart: number, voxelEnd: number): Float32Array {
  return openImageSeries(paths, { cache: 'none' }).readChunk(voxelStart, voxelEnd);
}

export interface WriteMapOptions {
  /** one name per volume (GIfTI MetaData "Name") */
  names?: string[];
}

/**
 * Writes a result map (volume-major, nvol x nvox) in the format matching `geometry`: NIfTI with the
 * input's affine for volumes, GIfTI .func.gii for surfaces, BLMM .dat (vertex-major) when the inputs
 * were .dat. An extension on `pathBase` (.nii, .nii.gz, .gii, .dat) overrides the choice. Returns the path written.
 */
export function writeMap(pathBase: string, data: Float32Array, geometry: ImageGeometry, options: WriteMapOptions = {}): string {
  const { nvox } = geometry;
  const nvol = data.length / nvox;
  if (!(Number.isInteger(nvol) && nvol >= 1)) throw fileError(pathBase, `${data.length} values are not a whole number of maps of ${nvox} voxels`);
  const explicit = /\.(nii|nii\.gz|gii|dat)$/i.exec(pathBase)?.[1].toLowerCase();
  const target = explicit ?? (geometry.kind === 'volume' ? 'nii.gz' : geometry.format === 'dat' ? 'dat' : 'gii');
  const path = explicit ? pathBase : `${pathBase}.${target === 'gii' ? 'func.gii' : target}`;
  if (geometry.kind === 'volume' && (target === 'gii' || target === 'dat'))
    throw fileError(path, `a volume map cannot be written as .${target}; use .nii or .nii.gz`);

  if (target === 'nii' || target === 'nii.gz') {
    const spatial = geometry.kind === 'volume' ? geometry.dims : [nvox, 1, 1];
    writeNifti(path, { dims: nvol > 1 ? [...spatial, nvol] : spatial, data, affine: geometry.affine });
  } else if (target === 'dat') {
    const vertexMajor = new Float32Array(data.length);
    for (let v = 0; v < nvol; v++) for (let i = 0; i < nvox; i++) vertexMajor[i * nvol + v] = data[v * nvox + i];
    writeDat(path, vertexMajor);
  } else {
    const arrays = Array.from({ length: nvol }, (_, v) => data.subarray(v * nvox, (v + 1) * nvox));
    writeGifti(path, arrays, options.names);
  }
  return path;
}
