/**
 * Byte-level helpers shared by the format readers: file access that fails with DataError, gzip,
 * and turning a run of bytes of some element type and byte order into typed arrays without
 * per-value DataView calls (a view when aligned and native-endian, else one copy + Buffer.swapNN).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as zlib from 'zlib';
import { DataError } from '../errors';

export type DType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';

type NumericArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
export type ElementArray = NumericArray | BigInt64Array | BigUint64Array;

const CONSTRUCTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
} as const;

export const DTYPE_BYTES: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
  int64: 8,
  uint64: 8,
};

export const NATIVE_LITTLE_ENDIAN = os.endianness() === 'LE';

/** A DataError whose message starts with the file it is about. */
export function fileError(path: string, problem: string): DataError {
  return new DataError(`${path}: ${problem}`);
}

function rethrowFsError(path: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw new DataError(`file not found: ${path}`);
  if (code === 'EISDIR') throw fileError(path, 'is a directory, expected a file');
  throw fileError(path, `cannot read (${code ?? String(err)})`);
}

export function readFileBytes(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    rethrowFsError(path, err);
  }
}

export function fileSize(path: string): number {
  try {
    const stat = fs.statSync(path);
    if (stat.isDirectory()) throw fileError(path, 'is a directory, expected a file');
    return stat.size;
  } catch (err) {
    if (err instanceof DataError) throw err;
    rethrowFsError(path, err);
  }
}

/** Reads `length` bytes at `position`; fewer bytes come back when the file is shorter. */
export function readFileRange(path: string, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  return out.subarray(0, readFileInto(path, position, out));
}

/** Reads bytes [position, position + out.length) of a file into `out`; returns how many there were. */
export function readFileInto(path: string, position: number, out: Uint8Array): number {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    rethrowFsError(path, err);
  }
  try {
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(fd, out, done, out.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  } finally {
    fs.closeSync(fd);
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzip(path: string, bytes: Uint8Array): Buffer {
  try {
    return zlib.gunzipSync(bytes);
  } catch (err) {
    throw fileError(path, `corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

/** Reads a file, decompressing it when it starts with the gzip magic (whatever its extension). */
export function readMaybeGzipped(path: string): Buffer {
  const bytes = readFileBytes(path);
  return isGzip(bytes) ? gunzip(path, bytes) : bytes;
}

/**
 * The first bytes of a possibly gzipped file, decompressing only as much as needed: lets headers of
 * thousands of .nii.gz / .mgz images be checked without inflating their data.
 */
export function readHead(path: string, length: number): Buffer {
  const probe = readFileRange(path, 0, 2);
  if (!isGzip(probe)) return readFileRange(path, 0, length);
  for (let compressed = 4096; ; compressed *= 4) {
    const bytes = readFileRange(path, 0, compressed);
    let out: Buffer;
    try {
      out = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw fileError(path, `corrupt gzip data (${(err as Error).message})`);
    }
    if (out.length >= length || bytes.length < compressed) return out.subarray(0, length);
  }
}

/** `count` elements of `dtype` starting at `byteOffset`; a view on `bytes` when possible, else a swapped copy. */
export function elementsAt(bytes: Uint8Array, byteOffset: number, count: number, dtype: DType, littleEndian: boolean): ElementArray {
  const size = DTYPE_BYTES[dtype];
  const Ctor = CONSTRUCTORS[dtype];
  const start = bytes.byteOffset + byteOffset;
  const swap = size > 1 && littleEndian !== NATIVE_LITTLE_ENDIAN;
  if (!swap && start % size === 0) return new Ctor(bytes.buffer as ArrayBuffer, start, count);
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(byteOffset, byteOffset + count * size));
  if (swap) {
    const asBuffer = Buffer.from(copy.buffer, 0, copy.length);
    if (size === 2) asBuffer.swap16();
    else if (size === 4) asBuffer.swap32();
    else asBuffer.swap64();
  }
  return new Ctor(copy.buffer, 0, count);
}

/**
 * Converts to float32 as `value * slope + inter` into `out` at `outOffset` (a new array by default).
 * Returns `src` itself when it already is float32 without scaling and no target was given.
 */
export function toFloat32(src: ElementArray, slope = 1, inter = 0, out?: Float32Array, outOffset = 0): Float32Array {
  const n = src.length;
  const scaled = slope !== 1 || inter !== 0;
  if (!out && !scaled && src instanceof Float32Array) return src;
  const target = out ?? new Float32Array(n);
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) target[outOffset + i] = Number(src[i]) * slope + inter;
  } else if (scaled) {
    for (let i = 0; i < n; i++) target[outOffset + i] = src[i] * slope + inter;
  } else {
    target.set(src, outOffset);
  }
  return target;
}

/** Little-endian bytes of a typed array, for writers (no copy on little-endian machines). */
export function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (NATIVE_LITTLE_ENDIAN) return view;
  const copy = Buffer.from(view);
  copy.swap32();
  return copy;
}

/** Writes a file, turning file-system failures into DataError naming the path. */
export function writeFileBytes(path: string, chunks: Uint8Array[]): void {
  try {
    fs.writeFileSync(path, Buffer.concat(chunks));
  } catch (err) {
    throw fileError(path, `cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** The chunks of a file, gzipped as one stream when its name ends in `.gz`. */
export function gzipIfNamed(path: string, chunks: Uint8Array[]): Uint8Array[] {
  return /\.gz$/i.test(path) ? [zlib.gzipSync(Buffer.concat(chunks))] : chunks;
}
