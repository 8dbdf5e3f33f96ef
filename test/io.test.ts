/**
 * Neuroimaging I/O. Every fixture is built byte by byte here (independently of the writers under
 * test) into a temporary folder; the BLMM demo data are read from NEUROLMM_BLMM_DEMO when present.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { DataError } from '../src/errors';
import {
  imageGeometry,
  openImageSeries,
  readBlmmResults,
  readCurv,
  readDat,
  readGifti,
  readGiftiShape,
  readGiftiSurface,
  readImageChunk,
  readImageSeries,
  readMgh,
  readNifti,
  readSurface,
  writeDat,
  writeGifti,
  writeMap,
  writeNifti,
} from '../src/io';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-io-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

const DEMO = process.env.NEUROLMM_BLMM_DEMO ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'blmm-demo');
const demoMissing = fs.existsSync(DEMO) ? false : `BLMM demo data not found at ${DEMO} (set NEUROLMM_BLMM_DEMO)`;

/** Asserts that `fn` throws a DataError whose message contains every fragment. */
function throwsData(fn: () => unknown, ...fragments: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    for (const f of fragments) {
      if (typeof f === 'string') assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
      else assert.match(err.message, f);
    }
    return true;
  });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function assertAffineClose(actual: number[][], expected: number[][], tol = 1e-5): void {
  assertClose(actual.flat(), expected.flat(), tol);
}

// ---------- byte builders (per-value DataView writes are fine for tiny fixtures) ----------

type TestDType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';
const SIZES: Record<TestDType, number> = { uint8: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8, int64: 8, uint64: 8 };

function encode(values: number[], dtype: TestDType, littleEndian: boolean): Buffer {
  const size = SIZES[dtype];
  const out = Buffer.alloc(values.length * size);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  values.forEach((v, i) => {
    const at = i * size;
    switch (dtype) {
      case 'uint8':
        view.setUint8(at, v);
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'int16':
        view.setInt16(at, v, littleEndian);
        break;
      case 'uint16':
        view.setUint16(at, v, littleEndian);
        break;
      case 'int32':
        view.setInt32(at, v, littleEndian);
        break;
      case 'uint32':
        view.setUint32(at, v, littleEndian);
        break;
      case 'float32':
        view.setFloat32(at, v, littleEndian);
        break;
      case 'float64':
        view.setFloat64(at, v, littleEndian);
        break;
      case 'int64':
        view.setBigInt64(at, BigInt(v), littleEndian);
        break;
      case 'uint64':
        view.setBigUint64(at, BigInt(v), littleEndian);
        break;
    }
  });
  return out;
}

const NIFTI_CODES: Record<TestDType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
  int64: 1024,
  uint64: 1280,
};

interface NiftiSpec {
  dims: number[];
  datatype: number;
  bitpix?: number;
  littleEndian?: boolean;
  pixdim?: number[];
  voxOffset?: number;
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: number[];
  qoffset?: number[];
  srow?: number[][];
  magic?: string;
}

function nifti1Header(spec: NiftiSpec): Buffer {
  const le = spec.littleEndian ?? true;
  const out = Buffer.alloc(352);
  const v = new DataView(out.buffer, out.byteOffset, out.length);
  v.setInt32(0, 348, le);
  v.setInt16(40, spec.dims.length, le);
  spec.dims.forEach((n, k) => v.setInt16(42 + 2 * k, n, le));
  v.setInt16(70, spec.datatype, le);
  v.setInt16(72, spec.bitpix ?? 0, le);
  (spec.pixdim ?? [1, 1, 1, 1]).forEach((p, k) => v.setFloat32(76 + 4 * k, p, le));
  v.setFloat32(108, spec.voxOffset ?? 352, le);
  v.setFloat32(112, spec.slope ?? 0, le);
  v.setFloat32(116, spec.inter ?? 0, le);
  v.setInt16(252, spec.qformCode ?? 0, le);
  v.setInt16(254, spec.sformCode ?? 0, le);
  (spec.quatern ?? [0, 0, 0]).forEach((q, k) => v.setFloat32(256 + 4 * k, q, le));
  (spec.qoffset ?? [0, 0, 0]).forEach((q, k) => v.setFloat32(268 + 4 * k, q, le));
  (spec.srow ?? []).forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + 16 * r + 4 * c, x, le)));
  out.write(spec.magic ?? 'n+1\0', 344, 'latin1');
  return out;
}

function nifti2Header(spec: NiftiSpec): Buffer {
  const le = spec.littleEndian ?? true;
  const out = Buffer.alloc(544);
  const v = new DataView(out.buffer, out.byteOffset, out.length);
  v.setInt32(0, 540, le);
  out.write(spec.magic ?? 'n+2\0\r\n\x1a\n', 4, 'latin1');
  v.setInt16(12, spec.datatype, le);
  v.setInt16(14, spec.bitpix ?? 0, le);
  v.setBigInt64(16, BigInt(spec.dims.length), le);
  spec.dims.forEach((n, k) => v.setBigInt64(24 + 8 * k, BigInt(n), le));
  (spec.pixdim ?? [1, 1, 1, 1]).forEach((p, k) => v.setFloat64(104 + 8 * k, p, le));
  v.setBigInt64(168, BigInt(spec.voxOffset ?? 544), le);
  v.setFloat64(176, spec.slope ?? 0, le);
  v.setFloat64(184, spec.inter ?? 0, le);
  v.setInt32(344, spec.qformCode ?? 0, le);
  v.setInt32(348, spec.sformCode ?? 0, le);
  (spec.srow ?? []).forEach((row, r) => row.forEach((x, c) => v.setFloat64(400 + 32 * r + 8 * c, x, le)));
  return out;
}

function niftiFile(name: string, spec: NiftiSpec, data: Buffer, version: 1 | 2 = 1): string {
  const header = version === 1 ? nifti1Header(spec) : nifti2Header(spec);
  const bytes = Buffer.concat([header, data]);
  fs.writeFileSync(file(name), name.endsWith('.gz') ? zlib.gzipSync(bytes) : bytes);
  return file(name);
}

/** Values each NIfTI datatype can hold exactly, 12 of them (a 2 x 3 x 2 image). */
const SAMPLE: Record<TestDType, number[]> = {
  uint8: [0, 1, 2, 3, 4, 5, 100, 200, 250, 251, 254, 255],
  int8: [0, 1, -1, 2, -2, 3, -128, 127, 50, -50, 7, -7],
  int16: [0, 1, -1, 300, -300, 32767, -32768, 12, 13, 14, 15, -16],
  uint16: [0, 1, 2, 300, 65535, 40000, 7, 8, 9, 10, 11, 12],
  int32: [0, 1, -1, 70000, -70000, 2147483647, -2147483648, 5, 6, 7, 8, 9],
  uint32: [0, 1, 2, 70000, 4294967295, 3000000000, 7, 8, 9, 10, 11, 12],
  float32: [0, 0.5, -0.25, 1e10, -3.5, 1e-10, 7, 8, 9, 10, 11, 12],
  float64: [0, 0.5, -0.25, 1e30, -3.5, 1e-30, 7, 8, 9, 10, 11, 12],
  int64: [0, 1, -1, 2 ** 40, -(2 ** 40), 5, 6, 7, 8, 9, 10, 11],
  uint64: [0, 1, 2, 2 ** 40, 2 ** 50, 5, 6, 7, 8, 9, 10, 11],
};

// ---------------------------------------------------------------- NIfTI

describe('readNifti', () => {
  for (const dtype of Object.keys(SAMPLE) as TestDType[]) {
    for (const littleEndian of [true, false]) {
      it(`reads ${dtype} ${littleEndian ? 'little' : 'big'}-endian NIfTI-1 and NIfTI-2`, () => {
        const values = SAMPLE[dtype];
        const spec = { dims: [2, 3, 2], datatype: NIFTI_CODES[dtype], bitpix: 8 * SIZES[dtype], littleEndian };
        const tag = `${dtype}-${littleEndian ? 'le' : 'be'}`;
        for (const p of [
          niftiFile(`${tag}.nii`, spec, encode(values, dtype, littleEndian)),
          niftiFile(`${tag}.2.nii`, spec, encode(values, dtype, littleEndian), 2),
        ]) {
          const image = readNifti(p);
          assert.deepEqual(image.dims, [2, 3, 2]);
          assert.equal(image.nvox, 12);
          assert.equal(image.nvol, 1);
          assertClose(image.data, Float32Array.from(values), 0);
        }
      });
    }
  }

  it('reads gzipped NIfTI-1 and a 4-D NIfTI-2 volume-major, x fastest', () => {
    // value = 1000 * t + 100 * z + 10 * y + x on a 3 x 2 x 2 x 3 grid
    const dims = [3, 2, 2, 3];
    const values: number[] = [];
    for (let t = 0; t < 3; t++)
      for (let z = 0; z < 2; z++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) values.push(1000 * t + 100 * z + 10 * y + x);
    const gz = readNifti(niftiFile('four-d.nii.gz', { dims, datatype: 16 }, encode(values, 'float32', true)));
    const two = readNifti(niftiFile('four-d.2.nii', { dims, datatype: 64, littleEndian: false }, encode(values, 'float64', false), 2));
    for (const image of [gz, two]) {
      assert.deepEqual(image.dims, dims);
      assert.equal(image.nvox, 12);
      assert.equal(image.nvol, 3);
      assert.equal(image.data[2 * 12 + 1 * 6 + 1 * 3 + 2], 2112); // t=2, z=1, y=1, x=2
    }
    assert.equal(two.header.version, 2);
  });

  it('applies scl_slope and scl_inter, and ignores them when the slope is 0', () => {
    const raw = [0, 1, -2, 100];
    const scaled = readNifti(niftiFile('scaled.nii', { dims: [4], datatype: 4, slope: 0.5, inter: -3 }, encode(raw, 'int16', true)));
    assertClose(scaled.data, [-3, -2.5, -4, 47], 0);
    assert.deepEqual(scaled.dims, [4, 1, 1]);
    const unscaled = readNifti(niftiFile('slope0.nii', { dims: [4], datatype: 4, slope: 0, inter: 7 }, encode(raw, 'int16', true)));
    assertClose(unscaled.data, raw, 0);
    const two = readNifti(niftiFile('scaled.2.nii.gz', { dims: [4], datatype: 2, slope: 2, inter: 1 }, encode([0, 1, 2, 3], 'uint8', true), 2));
    assertClose(two.data, [1, 3, 5, 7], 0);
  });

  it('reads a .hdr/.img pair by either name', () => {
    const hdr = nifti1Header({ dims: [2, 2], datatype: 16, voxOffset: 0, magic: 'ni1\0' });
    fs.writeFileSync(file('pair.hdr'), hdr.subarray(0, 348));
    fs.writeFileSync(file('pair.img'), encode([1.5, 2.5, 3.5, 4.5], 'float32', true));
    assertClose(readNifti(file('pair.hdr')).data, [1.5, 2.5, 3.5, 4.5], 0);
    assertClose(readNifti(file('pair.img')).data, [1.5, 2.5, 3.5, 4.5], 0);
  });

  it('takes the affine from the sform, else the qform, else pixdim', () => {
    const srow = [
      [-2, 0.1, 0, 14],
      [0, 0, 2, 16],
      [0.2, -2, 0, 34],
    ];
    const data = encode([0], 'float32', true);
    const s = readNifti(niftiFile('sform.nii', { dims: [1], datatype: 16, sformCode: 1, qformCode: 1, srow, quatern: [0, 0, 1] }, data));
    assertAffineClose(s.affine, [...srow, [0, 0, 0, 1]], 1e-7);
    // qform: 90 degrees about z (b = c = 0, d = sin 45), voxel sizes 2, 3, 4 and qfac -1 flip z
    const d = Math.SQRT1_2;
    const q = readNifti(
      niftiFile('qform.nii', { dims: [1], datatype: 16, qformCode: 1, quatern: [0, 0, d], qoffset: [5, 6, 7], pixdim: [-1, 2, 3, 4], srow }, data),
    );
    assertAffineClose(q.affine, [
      [0, -3, 0, 5],
      [2, 0, 0, 6],
      [0, 0, -4, 7],
      [0, 0, 0, 1],
    ]);
    const p = readNifti(niftiFile('pixdim.nii', { dims: [1], datatype: 16, pixdim: [1, 2, 3, 4], srow }, data));
    assert.deepEqual(p.affine, [
      [2, 0, 0, 0],
      [0, 3, 0, 0],
      [0, 0, 4, 0],
      [0, 0, 0, 1],
    ]);
    const two = readNifti(niftiFile('sform.2.nii', { dims: [1], datatype: 16, sformCode: 2, srow }, data, 2));
    assertAffineClose(two.affine, [...srow, [0, 0, 0, 1]], 1e-12);
  });

  it('names the file and the problem when reading fails', () => {
    const missing = file('nope.nii');
    throwsData(() => readNifti(missing), 'file not found', missing);
    const full = nifti1Header({ dims: [4, 4], datatype: 16 });
    const truncated = file('truncated.nii');
    fs.writeFileSync(truncated, Buffer.concat([full, Buffer.alloc(20)]));
    throwsData(() => readNifti(truncated), truncated, 'truncated', 'need 416 bytes, file has 372');
    const shortHeader = file('short-header.nii');
    fs.writeFileSync(shortHeader, full.subarray(0, 200));
    throwsData(() => readNifti(shortHeader), shortHeader, 'truncated NIfTI header');
    const badMagic = file('bad-magic.nii');
    fs.writeFileSync(badMagic, Buffer.concat([nifti1Header({ dims: [1], datatype: 16, magic: 'xyz\0' }), Buffer.alloc(4)]));
    throwsData(() => readNifti(badMagic), badMagic, 'wrong magic');
    const notNifti = file('text.nii');
    fs.writeFileSync(notNifti, 'hello, this is not an image at all'.repeat(20));
    throwsData(() => readNifti(notNifti), notNifti, 'not a NIfTI file');
    const complex = niftiFile('complex.nii', { dims: [1], datatype: 32 }, Buffer.alloc(8));
    throwsData(() => readNifti(complex), complex, 'unsupported NIfTI datatype 32 (complex64)');
    const corruptGz = file('corrupt.nii.gz');
    fs.writeFileSync(corruptGz, zlib.gzipSync(Buffer.concat([full, Buffer.alloc(64)])).subarray(0, 40));
    throwsData(() => readNifti(corruptGz), corruptGz, 'gzip');
  });
});

describe('writeNifti', () => {
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const oblique = [
    [2 * c, -3 * s, 0, -10],
    [2 * s, 3 * c, 0, 5],
    [0, 0, -4, 7],
    [0, 0, 0, 1],
  ];

  it('round-trips float32 .nii and int32 .nii.gz with sform and qform from the affine', () => {
    const data = Float32Array.from({ length: 4 * 5 * 3 * 2 }, (_, i) => i * 0.25 - 3);
    writeNifti(file('w.nii'), { dims: [4, 5, 3, 2], data, affine: oblique });
    const back = readNifti(file('w.nii'));
    assert.deepEqual(back.dims, [4, 5, 3, 2]);
    assert.equal(back.nvol, 2);
    assert.deepEqual(back.data, data);
    assertAffineClose(back.affine, oblique, 1e-6);
    assert.equal(back.header.sformCode, 2);
    assert.equal(back.header.qformCode, 2);
    assertClose(back.header.pixdim.slice(0, 4), [-1, 2, 3, 4]); // qfac -1: the affine flips z

    // Without the sform, the qform alone must give the same (rigid + zoom) affine.
    const bytes = fs.readFileSync(file('w.nii'));
    bytes.writeInt16LE(0, 254);
    fs.writeFileSync(file('w-qform.nii'), bytes);
    assertAffineClose(readNifti(file('w-qform.nii')).affine, oblique, 1e-6);

    const ints = Int32Array.from({ length: 24 }, (_, i) => (i - 12) * 100000);
    writeNifti(file('w.nii.gz'), { dims: [2, 3, 4], data: ints, affine: oblique });
    assert.deepEqual(zlib.gunzipSync(fs.readFileSync(file('w.nii.gz'))).readInt16LE(70), 8);
    const intsBack = readNifti(file('w.nii.gz'));
    assertClose(intsBack.data, ints, 0);
    assertAffineClose(intsBack.affine, oblique, 1e-6);
  });

  it('defaults to the identity affine and rejects inconsistent input', () => {
    writeNifti(file('identity.nii'), { dims: [2, 2], data: new Float32Array(4) });
    assert.deepEqual(readNifti(file('identity.nii')).affine, [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
    throwsData(() => writeNifti(file('x.nii'), { dims: [2, 3], data: new Float32Array(5) }), 'x.nii', 'hold 6 values but the data have 5');
    throwsData(() => writeNifti(file('y.nii'), { dims: [40000], data: new Float32Array(40000) }), 'y.nii', 'outside NIfTI-1');
  });
});

// ---------------------------------------------------------------- GIfTI

interface GiftiArraySpec {
  intent?: string;
  dataType: string;
  dims: number[];
  encoding: string;
  endian?: string;
  order?: string;
  name?: string;
  data: string;
  external?: [string, number];
}

function giftiXml(arrays: GiftiArraySpec[], extra = '', declared = arrays.length): string {
  const body = arrays.map((a) => {
    const dims = a.dims.map((n, k) => `Dim${k}="${n}"`).join(' ');
    const meta = a.name === undefined ? '<MetaData/>' : `<MetaData><MD><Name><![CDATA[Name]]></Name><Value><![CDATA[${a.name}]]></Value></MD></MetaData>`;
    const ext = a.external ? `ExternalFileName="${a.external[0]}" ExternalFileOffset="${a.external[1]}"` : 'ExternalFileName="" ExternalFileOffset=""';
    return `<DataArray Intent="${a.intent ?? 'NIFTI_INTENT_NONE'}" DataType="${a.dataType}" ArrayIndexingOrder="${a.order ?? 'RowMajorOrder'}"
      Dimensionality="${a.dims.length}" ${dims} Encoding="${a.encoding}" Endian="${a.endian ?? 'LittleEndian'}" ${ext}>
      ${meta}
      <Data>${a.data}</Data>
    </DataArray>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE GIFTI SYSTEM "http://www.nitrc.org/frs/download.php/115/gifti.dtd">
<GIFTI Version="1.0" NumberOfDataArrays="${declared}"><MetaData/>${extra}\n${body.join('\n')}\n</GIFTI>\n`;
}

function giftiFile(name: string, arrays: GiftiArraySpec[], extra = '', declared?: number): string {
  fs.writeFileSync(file(name), giftiXml(arrays, extra, declared));
  return file(name);
}

const b64 = (bytes: Buffer) => bytes.toString('base64');

describe('readGifti', () => {
  it('reads ASCII, Base64Binary and GZipBase64Binary arrays of float32, int32 and uint8 in either byte order', () => {
    const p = giftiFile('mixed.func.gii', [
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [4], encoding: 'ASCII', data: '1.5 -2\n 3e2  4', name: 'ascii' },
      {
        dataType: 'NIFTI_TYPE_INT32',
        dims: [4],
        encoding: 'Base64Binary',
        endian: 'BigEndian',
        data: b64(encode([1, -2, 70000, 4], 'int32', false)),
        name: 'b64-be',
      },
      { dataType: 'NIFTI_TYPE_UINT8', dims: [4, 1], encoding: 'GZipBase64Binary', data: b64(zlib.deflateSync(encode([0, 7, 255, 3], 'uint8', true))) },
      {
        dataType: 'NIFTI_TYPE_FLOAT32',
        dims: [4],
        encoding: 'GZipBase64Binary',
        endian: 'BigEndian',
        data: b64(zlib.gzipSync(encode([0.25, 0.5, 1, 2], 'float32', false))),
        intent: 'NIFTI_INTENT_SHAPE',
      },
    ]);
    const g = readGifti(p);
    assert.equal(g.nvertices, 4);
    assert.equal(g.arrays.length, 4);
    assertClose(g.arrays[0], [1.5, -2, 300, 4], 0);
    assertClose(g.arrays[1], [1, -2, 70000, 4], 0);
    assertClose(g.arrays[2], [0, 7, 255, 3], 0);
    assertClose(g.arrays[3], [0.25, 0.5, 1, 2], 0);
    assert.deepEqual(g.names, ['ascii', 'b64-be', '', '']);
    assert.equal(g.intents[3], 'NIFTI_INTENT_SHAPE');
    assert.deepEqual(readGiftiShape(p), { nvertices: 4, nmaps: 4 });
  });

  it('splits a 2-D [nvertices, k] array into k maps in either indexing order, and reads label tables', () => {
    // a 3 x 2 matrix [[1, 10], [2, 20], [3, 30]]
    const labels =
      '<LabelTable><Label Key="0" Red="1" Green="1" Blue="1" Alpha="0"><![CDATA[unknown]]></Label><Label Key="7">cortex &amp; more</Label></LabelTable>';
    const row = giftiFile(
      'row.label.gii',
      [{ dataType: 'NIFTI_TYPE_INT32', dims: [3, 2], encoding: 'ASCII', data: '1 10 2 20 3 30', intent: 'NIFTI_INTENT_LABEL' }],
      labels,
    );
    const col = giftiFile('col.func.gii', [
      {
        dataType: 'NIFTI_TYPE_FLOAT32',
        dims: [3, 2],
        encoding: 'Base64Binary',
        order: 'ColumnMajorOrder',
        data: b64(encode([1, 2, 3, 10, 20, 30], 'float32', true)),
      },
    ]);
    for (const p of [row, col]) {
      const g = readGifti(p);
      assert.equal(g.nvertices, 3);
      assertClose(g.arrays[0], [1, 2, 3], 0);
      assertClose(g.arrays[1], [10, 20, 30], 0);
    }
    assert.deepEqual(
      [...readGifti(row).labels],
      [
        [0, 'unknown'],
        [7, 'cortex & more'],
      ],
    );
  });

  it('reads ExternalFileBinary data relative to the GIfTI file', () => {
    fs.writeFileSync(file('external.bin'), Buffer.concat([Buffer.alloc(8), encode([5, 6, 7], 'float32', true)]));
    const p = giftiFile('external.func.gii', [
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [3], encoding: 'ExternalFileBinary', data: '', external: ['external.bin', 8] },
    ]);
    assertClose(readGifti(p).arrays[0], [5, 6, 7], 0);
  });

  it('names the file and the problem for corrupt or unsupported GIfTI', () => {
    const truncated = file('truncated.func.gii');
    const xml = giftiXml([
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [2], encoding: 'ASCII', data: '1 2' },
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [2], encoding: 'ASCII', data: '3 4' },
    ]);
    fs.writeFileSync(truncated, xml.slice(0, xml.lastIndexOf('</DataArray>')));
    throwsData(() => readGifti(truncated), truncated, 'NumberOfDataArrays is 2 but 1');
    const f64 = giftiFile('f64.func.gii', [{ dataType: 'NIFTI_TYPE_FLOAT64', dims: [1], encoding: 'ASCII', data: '1' }]);
    throwsData(() => readGifti(f64), f64, 'unsupported DataType NIFTI_TYPE_FLOAT64');
    const short = giftiFile('short.func.gii', [
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [3], encoding: 'Base64Binary', data: b64(encode([1, 2], 'float32', true)) },
    ]);
    throwsData(() => readGifti(short), short, '8 bytes of data, expected 12');
    const badZip = giftiFile('badzip.func.gii', [
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [1], encoding: 'GZipBase64Binary', data: b64(Buffer.from('not zlib')) },
    ]);
    throwsData(() => readGifti(badZip), badZip, 'corrupt GZipBase64Binary');
    const ascii = giftiFile('badascii.func.gii', [{ dataType: 'NIFTI_TYPE_FLOAT32', dims: [2], encoding: 'ASCII', data: '1 x' }]);
    throwsData(() => readGifti(ascii), ascii, '"x" is not a number');
    const uneven = giftiFile('uneven.func.gii', [
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [2], encoding: 'ASCII', data: '1 2' },
      { dataType: 'NIFTI_TYPE_FLOAT32', dims: [3], encoding: 'ASCII', data: '1 2 3' },
    ]);
    throwsData(() => readGifti(uneven), uneven, 'DataArray 1 has 3 values per map, DataArray 0 has 2');
    const notGifti = file('plain.gii');
    fs.writeFileSync(notGifti, '<xml>nothing</xml>');
    throwsData(() => readGifti(notGifti), notGifti, 'not a GIfTI file');
    throwsData(() => readGifti(file('absent.func.gii')), 'file not found', 'absent.func.gii');
  });
});

describe('GIfTI surfaces and writeGifti', () => {
  const tetraVertices = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
  const tetraFaces = [0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3];

  it('reads POINTSET and TRIANGLE arrays in row- or column-major order', () => {
    const columnMajor = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]; // x of all, y of all, z of all
    const p = giftiFile('tetra.surf.gii', [
      {
        intent: 'NIFTI_INTENT_POINTSET',
        dataType: 'NIFTI_TYPE_FLOAT32',
        dims: [4, 3],
        encoding: 'Base64Binary',
        order: 'ColumnMajorOrder',
        data: b64(encode(columnMajor, 'float32', true)),
      },
      { intent: 'NIFTI_INTENT_TRIANGLE', dataType: 'NIFTI_TYPE_INT32', dims: [4, 3], encoding: 'ASCII', data: tetraFaces.join(' ') },
    ]);
    const s = readGiftiSurface(p);
    assert.equal(s.nvertices, 4);
    assert.equal(s.nfaces, 4);
    assertClose(s.vertices, tetraVertices, 0);
    assert.deepEqual([...s.faces], tetraFaces);
    throwsData(() => readGifti(p), p, 'surface geometry', 'readGiftiSurface');

    const bad = giftiFile('bad.surf.gii', [
      { intent: 'NIFTI_INTENT_POINTSET', dataType: 'NIFTI_TYPE_FLOAT32', dims: [4, 3], encoding: 'ASCII', data: tetraVertices.join(' ') },
      { intent: 'NIFTI_INTENT_TRIANGLE', dataType: 'NIFTI_TYPE_INT32', dims: [1, 3], encoding: 'ASCII', data: '0 1 4' },
    ]);
    throwsData(() => readGiftiSurface(bad), bad, 'face 0 refers to vertex 4, but the surface has 4 vertices');
    const func = giftiFile('nosurf.func.gii', [{ dataType: 'NIFTI_TYPE_FLOAT32', dims: [1], encoding: 'ASCII', data: '1' }]);
    throwsData(() => readGiftiSurface(func), func, 'no NIFTI_INTENT_POINTSET');
  });

  it('writes GZipBase64Binary float32 func.gii (GIfTI 1.0) that reads back exactly', () => {
    const a = Float32Array.from([1, -2.5, 1e-20, 3e30, 0]);
    const b = Float32Array.from([5, 4, 3, 2, 1]);
    const p = file('written.func.gii');
    writeGifti(p, [a, b], ['beta <Intercept>', 'odd ]]> name']);
    const xml = fs.readFileSync(p, 'utf8');
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE GIFTI SYSTEM "http:\/\/www.nitrc.org\/frs\/download.php\/115\/gifti.dtd">/);
    assert.match(xml, /<GIFTI Version="1.0" NumberOfDataArrays="2">/);
    // the Data element is a zlib stream of little-endian float32 values, as nibabel expects
    const first = /<Data>([^<]*)<\/Data>/.exec(xml) as RegExpExecArray;
    const raw = zlib.inflateSync(Buffer.from(first[1], 'base64'));
    assert.equal(raw.readFloatLE(4), -2.5);
    const g = readGifti(p);
    assert.deepEqual(g.arrays, [a, b]);
    assert.deepEqual(g.names, ['beta <Intercept>', 'odd ]]> name']);
    throwsData(() => writeGifti(file('u.func.gii'), [a, new Float32Array(2)]), 'u.func.gii', 'array 1 has 2 values, array 0 has 5');
  });
});

// ---------------------------------------------------------------- FreeSurfer

function surfaceBytes(vertices: number[], faces: number[], comment = 'created by test on today'): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xff, 0xfe]),
    Buffer.from(`${comment}\n\n`, 'latin1'),
    encode([vertices.length / 3, faces.length / 3], 'int32', false),
    encode(vertices, 'float32', false),
    encode(faces, 'int32', false),
  ]);
}

function mghBytes(size: number[], type: number, values: Buffer, ras?: { delta: number[]; mdc: number[]; center: number[] }): Buffer {
  const header = Buffer.alloc(284);
  header.writeInt32BE(1, 0);
  size.forEach((n, k) => header.writeInt32BE(n, 4 + 4 * k));
  header.writeInt32BE(type, 20);
  if (ras) {
    header.writeInt16BE(1, 28);
    [...ras.delta, ...ras.mdc, ...ras.center].forEach((v, k) => header.writeFloatBE(v, 30 + 4 * k));
  }
  return Buffer.concat([header, values, encode([2, 90, 3, 0], 'float32', false)]); // TR, flip, TE, TI footer
}

describe('FreeSurfer surfaces, curv and MGH', () => {
  const vertices = [0, 0, 0, 1.5, 0, 0, 0, -2.25, 0, 0, 0, 1e3];
  const faces = [0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3];

  it('reads a triangle surface and ignores the tag footer', () => {
    const footer = Buffer.from([0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 8, 0x76, 0x61, 0x6c, 0x69, 0x64, 0x20, 0x3d, 0x20]);
    fs.writeFileSync(file('lh.tetra'), Buffer.concat([surfaceBytes(vertices, faces), footer]));
    const s = readSurface(file('lh.tetra'));
    assert.equal(s.nvertices, 4);
    assert.equal(s.nfaces, 4);
    assertClose(s.vertices, vertices, 0);
    assert.deepEqual([...s.faces], faces);
  });

  it('names the file and the problem for bad surfaces', () => {
    const write = (name: string, bytes: Buffer) => {
      fs.writeFileSync(file(name), bytes);
      return file(name);
    };
    const good = surfaceBytes(vertices, faces);
    throwsData(() => readSurface(write('lh.short', good.subarray(0, good.length - 5))), 'lh.short', 'truncated surface', 'file has');
    throwsData(() => readSurface(write('lh.magic', Buffer.concat([Buffer.from([1, 2, 3]), good.subarray(3)]))), 'lh.magic', 'wrong magic');
    throwsData(() => readSurface(write('lh.quad', Buffer.concat([Buffer.from([0xff, 0xff, 0xfd]), good.subarray(3)]))), 'lh.quad', 'quadrangle');
    throwsData(() => readSurface(write('lh.range', surfaceBytes(vertices, [0, 1, 9]))), 'lh.range', 'face 0 refers to vertex 9');
    throwsData(() => readSurface(write('lh.nocomment', Buffer.from([0xff, 0xff, 0xfe, 0x41, 0x0a, 0x41]))), 'lh.nocomment', 'not terminated');
    throwsData(() => readSurface(file('lh.absent')), 'file not found', 'lh.absent');
  });

  it('reads new-format curv files', () => {
    const values = [0.5, -1.25, 3, 1e-3];
    const curv = (nvertices: number, perVertex: number, vals: number[]) =>
      Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), encode([nvertices, 8, perVertex], 'int32', false), encode(vals, 'float32', false)]);
    fs.writeFileSync(file('lh.thickness'), curv(4, 1, values));
    assertClose(readCurv(file('lh.thickness')), values);
    fs.writeFileSync(file('lh.short'), curv(5, 1, values));
    throwsData(() => readCurv(file('lh.short')), 'lh.short', 'truncated curv data: 5 values need 35 bytes, file has 31');
    fs.writeFileSync(file('lh.multi'), curv(2, 2, values));
    throwsData(() => readCurv(file('lh.multi')), 'lh.multi', '2 values per vertex');
    fs.writeFileSync(file('lh.old'), Buffer.from([0, 0, 4, 0, 0, 8, 0, 1, 0, 2, 0, 3, 0, 4]));
    throwsData(() => readCurv(file('lh.old')), 'lh.old', 'wrong magic');
  });

  it("reads every MGH data type, .mgh and .mgz, with FreeSurfer's vox2ras", () => {
    const ras = { delta: [2, 2, 2], mdc: [-1, 0, 0, 0, 0, -1, 0, 1, 0], center: [10, 20, 30] };
    const values = [0, 1, 2, 3, 4, 5, 6, 7, 100, 50, 25, 12, 3, 2, 1, 0]; // 2 x 2 x 2 x 2 frames
    const types: [number, TestDType][] = [
      [0, 'uint8'],
      [1, 'int32'],
      [2, 'int32'],
      [3, 'float32'],
      [4, 'int16'],
    ];
    for (const [type, dtype] of types) {
      const bytes = mghBytes([2, 2, 2, 2], type, encode(values, dtype, false), ras);
      fs.writeFileSync(file(`t${type}.mgh`), bytes);
      fs.writeFileSync(file(`t${type}.mgz`), zlib.gzipSync(bytes));
      for (const p of [file(`t${type}.mgh`), file(`t${type}.mgz`)]) {
        const m = readMgh(p);
        assert.deepEqual(m.dims, [2, 2, 2, 2]);
        assert.equal(m.nvox, 8);
        assert.equal(m.nvol, 2);
        assertClose(m.data, values, 0);
        // columns Mdc * 2; translation c - M * dims / 2 = [10, 20, 30] - [-2, 2, -2]
        assertAffineClose(
          m.affine,
          [
            [-2, 0, 0, 12],
            [0, 0, 2, 18],
            [0, -2, 0, 32],
            [0, 0, 0, 1],
          ],
          1e-7,
        );
      }
    }
    // Without valid RAS information: 1 mm coronal (LIA) centred on the volume.
    fs.writeFileSync(file('noras.mgh'), mghBytes([4, 4, 4, 1], 3, encode(new Array(64).fill(1), 'float32', false)));
    const noRas = readMgh(file('noras.mgh'));
    assert.deepEqual(noRas.dims, [4, 4, 4]);
    assertAffineClose(
      noRas.affine,
      [
        [-1, 0, 0, 2],
        [0, 0, 1, -2],
        [0, -1, 0, 2],
        [0, 0, 0, 1],
      ],
      0,
    );
  });

  it('names the file and the problem for bad MGH files', () => {
    fs.writeFileSync(file('tensor.mgh'), mghBytes([1, 1, 1, 1], 6, Buffer.alloc(36)));
    throwsData(() => readMgh(file('tensor.mgh')), 'tensor.mgh', 'unsupported MGH data type 6 (tensor)');
    fs.writeFileSync(file('short.mgh'), mghBytes([4, 4, 4, 1], 3, Buffer.alloc(10)).subarray(0, 294));
    throwsData(() => readMgh(file('short.mgh')), 'short.mgh', 'truncated MGH data: 64 float32 values need 540 bytes, file has 294');
    const wrongVersion = mghBytes([1, 1, 1, 1], 3, Buffer.alloc(4));
    wrongVersion.writeInt32BE(7, 0);
    fs.writeFileSync(file('version.mgh'), wrongVersion);
    throwsData(() => readMgh(file('version.mgh')), 'version.mgh', 'MGH version 7');
    fs.writeFileSync(file('head.mgz'), zlib.gzipSync(Buffer.alloc(100)));
    throwsData(() => readMgh(file('head.mgz')), 'head.mgz', 'truncated MGH header (100 of 284 bytes)');
  });

  it('reads the fsaverage5 pial surfaces of the BLMM demo', { skip: demoMissing }, () => {
    for (const hemi of ['lh', 'rh']) {
      const s = readSurface(path.join(DEMO, 'geom', `${hemi}.pial`));
      assert.equal(s.nvertices, 10242);
      assert.equal(s.nfaces, 20480);
      const used = new Uint8Array(s.nvertices);
      for (const v of s.faces) {
        assert.ok(v >= 0 && v < s.nvertices);
        used[v] = 1;
      }
      assert.equal(
        used.reduce((a, b) => a + b, 0),
        s.nvertices,
        'every vertex belongs to a face',
      );
      // closed triangulated sphere: V - E + F = 2 with E = 3F / 2
      assert.equal(s.nvertices - (3 * s.nfaces) / 2 + s.nfaces, 2);
    }
    // reference values from nibabel.freesurfer.read_geometry
    const lh = readSurface(path.join(DEMO, 'geom', 'lh.pial'));
    assertClose(lh.vertices.subarray(0, 6), [-38.7359581, -19.34336472, 67.22013855, -16.66248703, -69.06122589, 61.28127289]);
    assert.deepEqual([...lh.faces.subarray(0, 6)], [0, 2564, 2562, 0, 2562, 2565]);
    assert.equal(
      lh.faces.reduce((a, b) => a + b, 0),
      314664900,
    );
  });
});

// ---------------------------------------------------------------- .dat and BLMM folders

describe('.dat arrays and BLMM result folders', () => {
  it('round-trips float32 and int32 .dat files', () => {
    const f = Float32Array.from([1.5, -2, 3e-8, 4, 5, 6]);
    const i = Int32Array.from([1, -2, 2147483647, -2147483648]);
    writeDat(file('f.dat'), f);
    writeDat(file('i.dat'), i);
    assert.deepEqual(fs.readFileSync(file('f.dat')).readFloatLE(4), -2);
    assert.deepEqual(readDat(file('f.dat'), { type: 'float32', nvertices: 3 }), f);
    assert.deepEqual(readDat(file('i.dat'), { type: 'int32' }), i);
    throwsData(() => readDat(file('f.dat'), { type: 'float32', nvertices: 4 }), 'f.dat', '6 values do not divide into 4 vertices');
    fs.writeFileSync(file('odd.dat'), Buffer.alloc(7));
    throwsData(() => readDat(file('odd.dat'), { type: 'float32' }), 'odd.dat', 'length 7 bytes');
    throwsData(() => readDat(file('none.dat'), { type: 'int32' }), 'file not found', 'none.dat');
  });

  it('reads a synthetic BLMM folder: volumes per map, int32 maps, float32 masks, vertex-major volumes', () => {
    const dir = file('blmm');
    fs.mkdirSync(dir);
    const nv = 4;
    // beta[vertex][volume] = 10 * vertex + volume, 3 volumes
    writeDat(
      path.join(dir, 'blmm_vox_beta.dat'),
      Float32Array.from({ length: nv * 3 }, (_, k) => 10 * Math.floor(k / 3) + (k % 3)),
    );
    writeDat(path.join(dir, 'blmm_vox_mask.dat'), Int32Array.from([1, 0, 1, 1]));
    writeDat(path.join(dir, 'blmm_vox_n.dat'), Int32Array.from([9, 0, 9, 8]));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const r = readBlmmResults(dir);
    assert.equal(r.nvertices, 4); // inferred from the mask
    assert.deepEqual([...r.maps.keys()], ['beta', 'mask', 'n']);
    assert.equal(r.map('beta').nvol, 3);
    assertClose(r.volume('beta', 2), [2, 12, 22, 32], 0);
    assert.ok(r.map('n').data instanceof Int32Array);
    assertClose(r.volume('n', 0), [9, 0, 9, 8], 0);
    throwsData(() => r.map('conT'), "no map 'conT'", 'available: beta, mask, n');
    throwsData(() => r.volume('beta', 3), "map 'beta'", 'volumes 0..2, asked for 3');

    const compare = file('blmm-compare');
    fs.mkdirSync(compare);
    writeDat(path.join(compare, 'blmm_vox_mask.dat'), Float32Array.from([1, 0, 1, 1, 0]));
    writeDat(path.join(compare, 'blmm_vox_Chi2.dat'), Float32Array.from([1, 2, 3, 4, 5]));
    const c = readBlmmResults(compare);
    assert.ok(c.map('mask').data instanceof Float32Array, 'a float32 mask is recognised');
    assertClose(c.volume('mask', 0), [1, 0, 1, 1, 0], 0);

    throwsData(() => readBlmmResults(dir, { nvertices: 5 }), 'blmm_vox_beta.dat', 'not a whole number of volumes of 5 vertices');
    throwsData(() => readBlmmResults(file('no-such-folder')), `BLMM results folder not found: ${file('no-such-folder')}`);
  });

  it('reads the real BLMM demo folders', { skip: demoMissing }, () => {
    const expectVolumes = (dir: string, volumes: Record<string, number>) => {
      const r = readBlmmResults(path.join(DEMO, dir));
      assert.equal(r.nvertices, 10242);
      for (const [name, nvol] of Object.entries(volumes)) assert.equal(r.map(name).nvol, nvol, `${dir} ${name}`);
      return r;
    };
    const des1 = expectVolumes('results_lh_des1', {
      beta: 23,
      con: 5,
      conSE: 5,
      conT: 5,
      conTlp: 5,
      conT_swedf: 5,
      sigma2: 1,
      llh: 1,
      D: 1,
      n: 1,
      mask: 1,
      edf: 1,
    });
    expectVolumes('results_rh_des1', { beta: 23, conT: 5, D: 1 });
    expectVolumes('results_lh_des2', { beta: 23, conT: 5, D: 3 });
    const compare = expectVolumes('results_lh_compare', { Chi2: 1, Chi2lp: 1, mask: 1 });
    assert.deepEqual([...compare.maps.keys()].sort(), ['Chi2', 'Chi2lp', 'mask']);
    for (const name of ['n', 'mask', 'edf']) assert.ok(des1.map(name).data instanceof Int32Array, name);
    assert.ok(compare.map('mask').data instanceof Float32Array);

    // T = contrast / its standard error at every masked vertex, for all 5 contrasts
    const mask = des1.volume('mask', 0);
    let masked = 0;
    for (let k = 0; k < 5; k++) {
      const [con, se, t] = ['con', 'conSE', 'conT'].map((name) => des1.volume(name, k));
      for (let i = 0; i < 10242; i++) {
        if (!mask[i]) continue;
        masked++;
        assert.ok(Math.abs(con[i] / se[i] - t[i]) <= 1e-5 * Math.max(1, Math.abs(t[i])), `vertex ${i} contrast ${k}`);
      }
    }
    assert.ok(masked > 5 * 9000, `most vertices are in the mask (${masked / 5})`);
    assert.equal(
      des1.volume('n', 0).reduce((m, v) => Math.max(m, v), 0),
      9835,
      'des1 has 9835 images',
    );
    assertClose(compare.volume('mask', 0), mask, 0);
  });
});

// ---------------------------------------------------------------- image series

describe('image series', () => {
  // three 3 x 2 x 2 volumes: image i holds i * 100 + voxel index, stored three different ways
  const nvox = 12;
  const expected = (i: number) => Array.from({ length: nvox }, (_, v) => i * 100 + v);
  const paths = [
    niftiFile('s0.nii', { dims: [3, 2, 2], datatype: 16 }, encode(expected(0), 'float32', true)),
    niftiFile('s1.nii.gz', { dims: [3, 2, 2], datatype: 4, littleEndian: false }, encode(expected(1), 'int16', false)),
    niftiFile(
      's2.nii',
      { dims: [3, 2, 2], datatype: 4, slope: 0.5, inter: 200 },
      encode(
        expected(2).map((x) => (x - 200) * 2),
        'int16',
        true,
      ),
    ),
  ];

  it('reads volumes into an image-major matrix', () => {
    const s = readImageSeries(paths);
    assert.equal(s.nimages, 3);
    assert.equal(s.nvox, 12);
    assert.equal(s.geometry.kind, 'volume');
    assertClose(s.data, [...expected(0), ...expected(1), ...expected(2)], 0);
  });

  it('reads voxel blocks of every image, from disk in place or via the decoded cache', () => {
    assertClose(readImageChunk(paths, 5, 9), [5, 6, 7, 8, 105, 106, 107, 108, 205, 206, 207, 208], 0);
    const cacheDir = file('cache-parent');
    fs.mkdirSync(cacheDir);
    const reader = openImageSeries(paths, { cacheDir });
    assertClose(reader.readChunk(10, 12), [10, 11, 110, 111, 210, 211], 0);
    assert.equal(fs.readdirSync(cacheDir).length, 1, 'the .nii.gz image was decoded into a cache folder');
    const out = new Float32Array(9);
    assertClose(reader.readChunk(0, 3, out), [0, 1, 2, 100, 101, 102, 200, 201, 202], 0);
    assertClose(reader.readChunk(4, 4), [], 0);
    throwsData(() => reader.readChunk(11, 13), 'voxel range [11, 13)');
    reader.close();
    assert.deepEqual(fs.readdirSync(cacheDir), [], 'close() removes the cache');
  });

  it('reads surface series from every surface format', () => {
    const values = [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15],
      [16, 17, 18, 19, 20],
      [21, 22, 23, 24, 25],
    ];
    writeGifti(file('sub0.func.gii'), [Float32Array.from(values[0])]);
    fs.writeFileSync(
      file('sub1.thickness'),
      Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), encode([5, 0, 1], 'int32', false), encode(values[1], 'float32', false)]),
    );
    writeDat(file('sub2.dat'), Float32Array.from(values[2]));
    fs.writeFileSync(file('sub3.mgh'), mghBytes([5, 1, 1, 1], 3, encode(values[3], 'float32', false)));
    fs.writeFileSync(file('sub4.mgz'), zlib.gzipSync(mghBytes([5, 1, 1, 1], 0, encode(values[4], 'uint8', false))));
    const surfaces = ['sub0.func.gii', 'sub1.thickness', 'sub2.dat', 'sub3.mgh', 'sub4.mgz'].map(file);
    // MGH [5, 1, 1] is per-vertex data like the others, but its dims differ from [5]: compare by kind first
    for (const p of surfaces) assert.equal(imageGeometry(p).kind, 'surface', p);
    const flat = readImageSeries(surfaces.slice(0, 3));
    assertClose(flat.data, values.slice(0, 3).flat(), 0);
    assertClose(readImageSeries(surfaces.slice(3)).data, values.slice(3).flat(), 0);
    const reader = openImageSeries(surfaces.slice(0, 3));
    assertClose(reader.readChunk(3, 5), [4, 5, 9, 10, 14, 15], 0);
    reader.close();
  });

  it('reports the first image whose dimensions differ, with both shapes', () => {
    const odd = niftiFile('odd.nii', { dims: [3, 2, 3], datatype: 16 }, encode(new Array(18).fill(0), 'float32', true));
    throwsData(() => readImageSeries([...paths, odd, paths[0]]), odd, 'volume 3x2x3', `${paths[0]}'s volume 3x2x2`);
    const fourD = niftiFile('fourd.nii', { dims: [3, 2, 2, 2], datatype: 16 }, encode(new Array(24).fill(0), 'float32', true));
    throwsData(() => readImageSeries([paths[0], fourD]), fourD, 'holds 2 volumes');
    writeGifti(file('surf5.func.gii'), [new Float32Array(12)]);
    throwsData(() => readImageSeries([paths[0], file('surf5.func.gii')]), 'surf5.func.gii', 'surface 12 differ');
    throwsData(() => readImageSeries([paths[0], file('missing.nii')]), 'file not found', 'missing.nii');
    fs.writeFileSync(file('what.xyz'), 'data');
    throwsData(() => imageGeometry(file('what.xyz')), 'what.xyz', 'unrecognised image format');
    const cut = file('cut.nii');
    fs.writeFileSync(cut, fs.readFileSync(paths[0]).subarray(0, 380));
    throwsData(() => openImageSeries([cut]), cut, 'truncated data');
  });

  it("gives each format's geometry from its header", () => {
    const g = imageGeometry(paths[1]);
    assert.deepEqual(
      { kind: g.kind, format: g.format, dims: g.dims, nvox: g.nvox, nvol: g.nvol },
      { kind: 'volume', format: 'nifti', dims: [3, 2, 2], nvox: 12, nvol: 1 },
    );
    assert.deepEqual(g.affine, [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
    writeGifti(file('two.func.gii'), [new Float32Array(7), new Float32Array(7)]);
    const s = imageGeometry(file('two.func.gii'));
    assert.deepEqual([s.kind, s.format, s.dims, s.nvox, s.nvol], ['surface', 'gifti', [7], 7, 2]);
  });

  it('writes result maps in the format matching the inputs', () => {
    const affine = [
      [-2, 0, 0, 90],
      [0, 2, 0, -126],
      [0, 0, 2, -72],
      [0, 0, 0, 1],
    ];
    const volume = { kind: 'volume' as const, format: 'nifti' as const, dims: [3, 2, 2], nvox: 12, nvol: 1, affine };
    const twoMaps = Float32Array.from({ length: 24 }, (_, k) => k / 4);
    const niiPath = writeMap(file('tstat'), twoMaps, volume);
    assert.equal(niiPath, file('tstat.nii.gz'));
    const nii = readNifti(niiPath);
    assert.deepEqual(nii.dims, [3, 2, 2, 2]);
    assert.deepEqual(nii.data, twoMaps);
    assertAffineClose(nii.affine, affine, 1e-7);
    assert.equal(writeMap(file('plain.nii'), twoMaps.subarray(0, 12), volume), file('plain.nii'));
    assert.deepEqual(readNifti(file('plain.nii')).dims, [3, 2, 2]);
    throwsData(() => writeMap(file('vol.gii'), twoMaps, volume), 'vol.gii', 'a volume map cannot be written as .gii');
    throwsData(() => writeMap(file('bad'), new Float32Array(13), volume), '13 values are not a whole number of maps of 12 voxels');

    const surface = { kind: 'surface' as const, format: 'gifti' as const, dims: [4], nvox: 4, nvol: 1 };
    const maps = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]);
    const giiPath = writeMap(file('beta'), maps, surface, { names: ['b0', 'b1'] });
    assert.equal(giiPath, file('beta.func.gii'));
    const gii = readGifti(giiPath);
    assert.deepEqual(gii.arrays, [maps.subarray(0, 4), maps.subarray(4)]);
    assert.deepEqual(gii.names, ['b0', 'b1']);

    const datPath = writeMap(file('blmm_vox_beta'), maps, { ...surface, format: 'dat' });
    assert.equal(datPath, file('blmm_vox_beta.dat'));
    assertClose(readDat(datPath, { type: 'float32' }), [1, 10, 2, 20, 3, 30, 4, 40], 0); // vertex-major like BLMM
  });
});
