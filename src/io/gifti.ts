/**
 * GIfTI 1.0 (.func.gii, .shape.gii, .label.gii data; .surf.gii geometry). The XML is regular
 * enough (DataArray elements with attributes, MetaData, Data) to parse with a few patterns,
 * which keeps this dependency-free.
 */
import * as nodePath from 'path';
import * as zlib from 'zlib';
import {
  DType,
  DTYPE_BYTES,
  ElementArray,
  elementsAt,
  fileError,
  isGzip,
  littleEndianBytes,
  readFileBytes,
  readFileRange,
  toFloat32,
  writeFileBytes,
} from './binary';
import { Surface, checkFaceIndices } from './freesurfer';

export interface GiftiData {
  /** one per-vertex map per data array (a 2-D [nvertices, k] array contributes its k columns) */
  arrays: Float32Array[];
  nvertices: number;
  /** each map's MetaData "Name" ('' when absent) */
  names: string[];
  /** each map's Intent, e.g. NIFTI_INTENT_NONE, NIFTI_INTENT_SHAPE, NIFTI_INTENT_LABEL */
  intents: string[];
  /** key -> label name, from the LabelTable of a .label.gii */
  labels: Map<number, string>;
}

interface DataArrayElement {
  attributes: Record<string, string>;
  metadata: Map<string, string>;
  data: string;
}

const GIFTI_DTYPES: Record<string, DType> = { NIFTI_TYPE_UINT8: 'uint8', NIFTI_TYPE_INT32: 'int32', NIFTI_TYPE_FLOAT32: 'float32' };
const GEOMETRY_INTENTS = new Set(['NIFTI_INTENT_POINTSET', 'NIFTI_INTENT_TRIANGLE']);

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x?[0-9a-fA-F]+);/g, (_, entity: string) => {
    if (entity in ENTITIES) return ENTITIES[entity];
    return String.fromCodePoint(entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
  });
}

/** Character data of an element: CDATA sections verbatim, entities decoded elsewhere. */
function xmlText(raw: string): string {
  const text = raw.trim();
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/<!\[CDATA\[([\s\S]*?)\]\]>/g)) {
    out += decodeEntities(text.slice(last, m.index)) + m[1];
    last = (m.index as number) + m[0].length;
  }
  return out + decodeEntities(text.slice(last));
}

function xmlAttributes(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of raw.matchAll(/([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]] = xmlText(m[2] ?? m[3]);
  return out;
}

function metadataOf(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  const block = /<MetaData\s*>([\s\S]*?)<\/MetaData>/.exec(xml);
  if (!block) return out;
  for (const md of block[1].matchAll(/<MD>\s*<Name>([\s\S]*?)<\/Name>\s*<Value>([\s\S]*?)<\/Value>\s*<\/MD>/g)) {
    out.set(xmlText(md[1]), xmlText(md[2]));
  }
  return out;
}

function parseGifti(path: string): { arrays: DataArrayElement[]; labels: Map<number, string> } {
  const xml = readFileBytes(path).toString('utf8');
  const root = /<GIFTI\b([^>]*)>/.exec(xml);
  if (!root) throw fileError(path, 'not a GIfTI file (no <GIFTI> element)');
  const arrays: DataArrayElement[] = [];
  for (const m of xml.matchAll(/<DataArray\b([^>]*)>([\s\S]*?)<\/DataArray>/g)) {
    const body = m[2];
    const data = /<Data\s*>([\s\S]*?)<\/Data>/.exec(body);
    arrays.push({ attributes: xmlAttributes(m[1]), metadata: metadataOf(body), data: data ? data[1] : '' });
  }
  const declared = Number(xmlAttributes(root[1]).NumberOfDataArrays);
  if (Number.isFinite(declared) && declared !== arrays.length) {
    throw fileError(path, `truncated or corrupt GIfTI: NumberOfDataArrays is ${declared} but ${arrays.length} complete DataArray elements were found`);
  }
  const labels = new Map<number, string>();
  const table = /<LabelTable\s*>([\s\S]*?)<\/LabelTable>/.exec(xml);
  for (const label of table ? table[1].matchAll(/<Label\b([^>]*)>([\s\S]*?)<\/Label>/g) : []) {
    labels.set(Number(xmlAttributes(label[1]).Key), xmlText(label[2]));
  }
  return { arrays, labels };
}

function arrayDims(path: string, index: number, attributes: Record<string, string>): number[] {
  const ndim = Number(attributes.Dimensionality);
  if (!(ndim >= 1 && ndim <= 6)) throw fileError(path, `DataArray ${index}: invalid Dimensionality ${attributes.Dimensionality}`);
  return Array.from({ length: ndim }, (_, k) => {
    const n = Number(attributes[`Dim${k}`]);
    if (!(Number.isInteger(n) && n >= 0)) throw fileError(path, `DataArray ${index}: invalid Dim${k} ${attributes[`Dim${k}`]}`);
    return n;
  });
}

/** The raw values of one DataArray, in stored order. */
function decodeDataArray(path: string, index: number, element: DataArrayElement): { values: ElementArray; dims: number[] } {
  const { attributes } = element;
  const where = `DataArray ${index}`;
  const dims = arrayDims(path, index, attributes);
  const count = dims.reduce((p, n) => p * n, 1);
  const dtype = GIFTI_DTYPES[attributes.DataType];
  if (!dtype)
    throw fileError(path, `${where}: unsupported DataType ${attributes.DataType} (expected NIFTI_TYPE_FLOAT32, NIFTI_TYPE_INT32 or NIFTI_TYPE_UINT8)`);
  const encoding = attributes.Encoding;
  if (encoding === 'ASCII') {
    const tokens = element.data
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0);
    if (tokens.length !== count) throw fileError(path, `${where}: ${tokens.length} ASCII values, expected ${count}`);
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      values[i] = Number(tokens[i]);
      if (Number.isNaN(values[i]) && !/^nan$/i.test(tokens[i])) throw fileError(path, `${where}: "${tokens[i]}" is not a number`);
    }
    return { values, dims };
  }
  const nbytes = count * DTYPE_BYTES[dtype];
  let bytes: Uint8Array;
  if (encoding === 'Base64Binary' || encoding === 'GZipBase64Binary') {
    bytes = Buffer.from(element.data.trim(), 'base64');
    if (encoding === 'GZipBase64Binary') {
      try {
        // The standard (and nibabel) use zlib streams; some writers use gzip.
        bytes = isGzip(bytes) ? zlib.gunzipSync(bytes) : zlib.inflateSync(bytes);
      } catch (err) {
        throw fileError(path, `${where}: corrupt GZipBase64Binary data (${(err as Error).message})`);
      }
    }
  } else if (encoding === 'ExternalFileBinary') {
    const external = nodePath.resolve(nodePath.dirname(path), attributes.ExternalFileName ?? '');
    bytes = readFileRange(external, Number(attributes.ExternalFileOffset || 0), nbytes);
  } else {
    throw fileError(path, `${where}: unsupported Encoding ${encoding}`);
  }
  if (bytes.length !== nbytes) throw fileError(path, `${where}: ${bytes.length} bytes of data, expected ${nbytes} (${count} ${dtype} values)`);
  const littleEndian = (attributes.Endian ?? 'LittleEndian') !== 'BigEndian';
  return { values: elementsAt(bytes, 0, count, dtype, littleEndian), dims };
}

/** Column k of a 2-D [rows, cols] array stored in either GIfTI order. */
function column(values: Float32Array, rows: number, cols: number, k: number, columnMajor: boolean): Float32Array {
  if (columnMajor) return values.slice(k * rows, (k + 1) * rows);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = values[r * cols + k];
  return out;
}

function isColumnMajor(element: DataArrayElement): boolean {
  return element.attributes.ArrayIndexingOrder === 'ColumnMajorOrder';
}

/** The [rows, cols] of each per-vertex data array, checked to share one number of vertices. */
function mapShapes(path: string, arrays: DataArrayElement[]): { rows: number; cols: number }[] {
  return arrays.map((element, index) => {
    const intent = element.attributes.Intent ?? 'NIFTI_INTENT_NONE';
    if (GEOMETRY_INTENTS.has(intent)) throw fileError(path, `holds surface geometry (${intent}); use readGiftiSurface`);
    const dims = arrayDims(path, index, element.attributes);
    if (dims.length > 2) throw fileError(path, `DataArray ${index}: ${dims.length}-D data arrays are not supported`);
    const [rows, cols = 1] = dims;
    const first = Number(arrays[0].attributes.Dim0);
    if (rows !== first) throw fileError(path, `DataArray ${index} has ${rows} values per map, DataArray 0 has ${first}`);
    return { rows, cols };
  });
}

/** Number of vertices and of per-vertex maps, from the XML alone (no data decoded). */
export function readGiftiShape(path: string): { nvertices: number; nmaps: number } {
  const shapes = mapShapes(path, parseGifti(path).arrays);
  return { nvertices: shapes.length ? shapes[0].rows : 0, nmaps: shapes.reduce((sum, s) => sum + s.cols, 0) };
}

/** Per-vertex data arrays of a .func.gii / .shape.gii / .label.gii, as float32. */
export function readGifti(path: string): GiftiData {
  const parsed = parseGifti(path);
  const shapes = mapShapes(path, parsed.arrays);
  const result: GiftiData = { arrays: [], nvertices: shapes.length ? shapes[0].rows : 0, names: [], intents: [], labels: parsed.labels };
  parsed.arrays.forEach((element, index) => {
    const { rows, cols } = shapes[index];
    const asFloat = toFloat32(decodeDataArray(path, index, element).values);
    for (let k = 0; k < cols; k++) {
      result.arrays.push(cols === 1 ? asFloat : column(asFloat, rows, cols, k, isColumnMajor(element)));
      result.names.push(element.metadata.get('Name') ?? '');
      result.intents.push(element.attributes.Intent ?? 'NIFTI_INTENT_NONE');
    }
  });
  return result;
}

/** A [n, 3] array in row-major (per-row xyz) order. */
function rowsOfThree(path: string, index: number, element: DataArrayElement): { values: ElementArray; rows: number } {
  const { values, dims } = decodeDataArray(path, index, element);
  if (dims.length !== 2 || dims[1] !== 3)
    throw fileError(path, `DataArray ${index} (${element.attributes.Intent}) has dimensions [${dims.join(', ')}], expected [n, 3]`);
  const rows = dims[0];
  if (!isColumnMajor(element)) return { values, rows };
  const Ctor = values.constructor as new (n: number) => ElementArray;
  const transposed = new Ctor(values.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < 3; k++) transposed[3 * r + k] = values[k * rows + r];
  return { values: transposed, rows };
}

/** A .surf.gii: its NIFTI_INTENT_POINTSET and NIFTI_INTENT_TRIANGLE arrays. */
export function readGiftiSurface(path: string): Surface {
  const { arrays } = parseGifti(path);
  const find = (intent: string) => {
    const index = arrays.findIndex((a) => a.attributes.Intent === intent);
    if (index < 0) throw fileError(path, `no ${intent} data array: not a GIfTI surface`);
    return rowsOfThree(path, index, arrays[index]);
  };
  const points = find('NIFTI_INTENT_POINTSET');
  const triangles = find('NIFTI_INTENT_TRIANGLE');
  const vertices = toFloat32(points.values);
  const faces = triangles.values instanceof Int32Array ? triangles.values : Int32Array.from(triangles.values as ArrayLike<number>);
  checkFaceIndices(path, faces, points.rows);
  return { vertices, faces, nvertices: points.rows, nfaces: triangles.rows };
}

function cdata(text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** Writes per-vertex maps as a GIfTI 1.0 func.gii: float32, GZipBase64Binary, one DataArray per map. */
export function writeGifti(path: string, arrays: Float32Array[], names?: string[]): void {
  if (arrays.length === 0) throw fileError(path, 'no data arrays to write');
  const nvertices = arrays[0].length;
  const uneven = arrays.findIndex((a) => a.length !== nvertices);
  if (uneven >= 0) throw fileError(path, `array ${uneven} has ${arrays[uneven].length} values, array 0 has ${nvertices}`);
  if (names && names.length !== arrays.length) throw fileError(path, `${names.length} names given for ${arrays.length} arrays`);
  const dataArrays = arrays.map((array, k) => {
    const encoded = zlib.deflateSync(littleEndianBytes(array)).toString('base64');
    const metadata = names ? `<MetaData>\n<MD><Name>${cdata('Name')}</Name><Value>${cdata(names[k])}</Value></MD>\n</MetaData>` : '<MetaData/>';
    return [
      '<DataArray Intent="NIFTI_INTENT_NONE" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder"',
      `\tDimensionality="1" Dim0="${nvertices}" Encoding="GZipBase64Binary" Endian="LittleEndian"`,
      '\tExternalFileName="" ExternalFileOffset="">',
      metadata,
      `<Data>${encoded}</Data>`,
      '</DataArray>',
    ].join('\n');
  });
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE GIFTI SYSTEM "http://www.nitrc.org/frs/download.php/115/gifti.dtd">',
    `<GIFTI Version="1.0" NumberOfDataArrays="${arrays.length}">`,
    '<MetaData/>',
    '<LabelTable/>',
    ...dataArrays,
    '</GIFTI>',
    '',
  ].join('\n');
  writeFileBytes(path, [Buffer.from(xml, 'utf8')]);
}
