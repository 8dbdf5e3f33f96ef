/**
 * Where the images come from: an in-memory matrix (one image per table row) or image files named
 * in a column / list (one per row, only the rows the model uses are opened). Both read voxel
 * chunks image-major, the layout the engine consumes.
 */
import * as nodePath from 'path';
import { DataError } from '../errors';
import type { Table } from '../frame/types';
import { openImageSeries, readImageSeries, type ImageGeometry, type ImageSeriesReader } from '../io/images';

export interface ImageSource {
  nimages: number;
  nvox: number;
  geometry: ImageGeometry;
  /** image index of each table row, -1 for rows without one */
  tableRowImage: Int32Array;
  /** the image files, in image order (absent for an in-memory matrix) */
  files?: string[];
  /** voxels [start, end) of every image, image-major (into `out` when given) */
  readChunk(start: number, end: number, out?: Float32Array): Float32Array;
  close(): void;
}

/** A surface-like geometry for data given as a bare matrix (written as GIfTI unless a format is asked for). */
export function matrixGeometry(nvox: number): ImageGeometry {
  return { kind: 'surface', format: 'gifti', dims: [nvox], nvox, nvol: 1 };
}

/** An image-major nrows x nvox matrix: image i (table row i) at [i*nvox, (i+1)*nvox). */
export function matrixSource(matrix: Float32Array, nrows: number, geometry?: ImageGeometry): ImageSource {
  if (nrows === 0 || matrix.length % nrows !== 0) {
    throw new DataError(`the image matrix has ${matrix.length} values, not a whole number of voxels for each of the table's ${nrows} rows`);
  }
  const nvox = matrix.length / nrows;
  if (geometry && geometry.nvox !== nvox) throw new DataError(`the geometry has ${geometry.nvox} voxels but the image matrix has ${nvox} per row`);
  return {
    nimages: nrows,
    nvox,
    geometry: geometry ?? matrixGeometry(nvox),
    tableRowImage: Int32Array.from({ length: nrows }, (_, i) => i),
    readChunk(start, end, out = new Float32Array(nrows * (end - start))) {
      const w = end - start;
      for (let i = 0; i < nrows; i++) out.set(matrix.subarray(i * nvox + start, i * nvox + end), i * w);
      return out;
    },
    close() {},
  };
}

/** The image path of each table row from a label column or a list, resolved against `baseDir`. */
export function imagePaths(table: Table, images: string | string[], baseDir: string): (string | null)[] {
  const where = table.source ? ` of '${table.source}'` : '';
  let raw: (string | null)[];
  if (typeof images === 'string') {
    const column = table.column(images);
    if (!column) throw new DataError(`no column '${images}'${where} for the images (columns: ${table.names.join(', ')})`);
    if (column.kind !== 'label') throw new DataError(`column '${images}'${where} holds numbers, not image file names`);
    raw = column.values;
  } else {
    if (images.length !== table.nrows) throw new DataError(`${images.length} image files for a table of ${table.nrows} rows`);
    raw = images;
  }
  return raw.map((p) => (p === null || p.trim() === '' ? null : nodePath.resolve(baseDir, p.trim())));
}

/**
 * Opens the images of the used rows (headers only: dimensions are checked here, before any long
 * work); a used row without an image is an error naming the row.
 */
export function fileSource(paths: (string | null)[], usedRows: Int32Array, what: string, cacheDir?: string): ImageSource {
  const tableRowImage = new Int32Array(paths.length).fill(-1);
  const used: string[] = [];
  for (const r of usedRows) {
    const p = paths[r];
    if (p === null) throw new DataError(`row ${r + 1} of ${what} has no image`);
    tableRowImage[r] = used.length;
    used.push(p);
  }
  let reader: ImageSeriesReader | undefined = openImageSeries(used, { cacheDir });
  const { nvox, geometry } = reader;
  return {
    nimages: used.length,
    nvox,
    geometry,
    tableRowImage,
    files: used,
    readChunk(start, end, out) {
      // after close() (e.g. voxel() on a finished fit), reread without the decoded-image cache
      reader ??= openImageSeries(used, { cache: 'none' });
      return reader.readChunk(start, end, out);
    },
    close() {
      reader?.close();
      reader = undefined;
    },
  };
}

/** An analysis mask (nonzero = analyse) from a file or an array, checked against the images' voxel count. */
export function analysisMask(mask: string | ArrayLike<number>, nvox: number): Uint8Array {
  const values = typeof mask === 'string' ? readImageSeries([mask]).data : mask;
  const what = typeof mask === 'string' ? `analysis mask ${mask}` : 'the analysis mask';
  if (values.length !== nvox) throw new DataError(`${what} has ${values.length} voxels, the images have ${nvox}`);
  return Uint8Array.from(values as ArrayLike<number>, (v) => (v > 0 || v < 0 ? 1 : 0));
}
