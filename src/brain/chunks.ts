/**
 * A whole-brain fit split into chunks of voxels that run anywhere (one per SLURM array task, say):
 * chunk i of N fits a contiguous range of whole tasks of the fit's task grid and writes the
 * records of its voxels to its own folder; the merge assembles BLMM's maps from all chunks.
 * Since every task starts its optimizer afresh, a chunk's records are the ones a single run
 * computes for those voxels, and the merged maps equal the single run's bit for bit.
 *
 * Layout of a chunk folder (e.g. OUT/chunks, apart from the maps in OUT):
 *   plan.json              the analysis (formula, fixed effects, contrasts, geometry), its
 *                          fingerprint and the split: N chunks over tasks of `width` voxels
 *   chunk-0003/manifest.json   chunk 3's voxel range, fitted count, time and memory
 *   chunk-0003/status.u8       VoxelStatus of each voxel of the range
 *   chunk-0003/records.f64     RecordLayout records of the fitted voxels, in voxel order, little-endian
 * A chunk's folder is written under a temporary name and renamed when complete, so a chunk
 * folder is either complete or absent; a rerun fits only the absent chunks. Chunks of another
 * analysis (other data, model, options or split) are refused, never mixed.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { DataError, ModelError } from '../errors';
import type { DataInput } from '../frame/table';
import type { ImageGeometry } from '../io/images';
import { threadCount } from '../linalg/threads';
import type { Contrast } from './contrasts';
import type { ChunkResult } from './engine';
import { BrainFit } from './fit';
import { RecordLayout, VoxelStatus } from './layout';
import { Assembler, chunkWidth, fitVoxels, prepare, READ_BYTES, type BrainOptions, type Prepared } from './lmerbrain';

export interface ChunkSplit {
  /** number of chunks N (default: one per DEFAULT_CHUNK_VOXELS voxels) */
  chunks?: number;
  /** the chunk folder (plan.json and one folder per chunk) */
  dir: string;
}

/** Voxels per chunk when the number of chunks is not given: a few minutes of one core at ABCD scale. */
export const DEFAULT_CHUNK_VOXELS = 10000;

export interface ChunkOptions extends BrainOptions, ChunkSplit {
  /** which chunk to fit, 1..N */
  chunk: number;
}

/** plan.json: what the chunks are a split of. */
export interface ChunkPlan {
  format: 'neurolmm-chunks';
  version: 1;
  /** digest of the data, model, options, neurolmm version and split */
  fingerprint: string;
  chunks: number;
  /** voxels of the images */
  voxels: number;
  /** voxels per task of the fit's task grid; chunks are ranges of whole tasks */
  width: number;
  formula: string;
  REML: boolean;
  xNames: string[];
  dNames: string[];
  contrasts: Contrast[];
  ntheta: number;
  nimages: number;
  geometry: ImageGeometry;
  recordSize: number;
}

/** A chunk's manifest.json. */
export interface ChunkManifest {
  fingerprint: string;
  chunk: number;
  chunks: number;
  /** voxels [from, to) */
  from: number;
  to: number;
  fitted: number;
  /** voxels fitted with no more observations than random effects */
  crowded: number;
  evaluations: number;
  seconds: number;
  /** user + system CPU time of the process while fitting the chunk */
  cpuSeconds: number;
  /** peak resident memory of the process */
  peakMemoryMB: number;
  workers: number;
  host: string;
  finished: string;
}

export interface ChunkRun {
  chunk: number;
  chunks: number;
  from: number;
  to: number;
  /** the chunk's folder */
  path: string;
  /** the chunk was complete already: nothing was fitted */
  alreadyDone: boolean;
  manifest: ChunkManifest;
}

export interface ChunkState {
  plan: ChunkPlan;
  /** chunk numbers (1..N) complete, and not */
  done: number[];
  missing: number[];
}

const PLAN = 'plan.json';
const MANIFEST = 'manifest.json';
const STATUS = 'status.u8';
const RECORDS = 'records.f64';

/** The folder name of chunk i: chunk-0003 (at least four digits, so that names sort). */
export function chunkName(chunk: number, chunks: number): string {
  return `chunk-${String(chunk).padStart(Math.max(4, String(chunks).length), '0')}`;
}

/** Voxels [from, to) of chunk i (1-based): tasks floor((i-1)T/N) .. floor(iT/N) of T. */
export function chunkRange(plan: Pick<ChunkPlan, 'chunks' | 'voxels' | 'width'>, chunk: number): { from: number; to: number } {
  const tasks = Math.ceil(plan.voxels / plan.width);
  const first = Math.floor(((chunk - 1) * tasks) / plan.chunks);
  const last = Math.floor((chunk * tasks) / plan.chunks);
  return { from: first * plan.width, to: Math.min(plan.voxels, last * plan.width) };
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(nodePath.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * What makes two runs the same analysis: the model's design and settings, the images (file
 * names, sizes and modification times, or the matrix itself), the mask, the task grid and the split.
 */
function fingerprint(prepared: Prepared, options: BrainOptions, width: number, chunks: number): string {
  const { spec, settings, source } = prepared;
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      neurolmm: packageVersion(),
      formula: prepared.formula,
      settings,
      xNames: spec.xNames,
      terms: spec.terms.map((t) => ({ group: t.group, names: t.names, levels: t.factor.levels })),
      voxels: source.nvox,
      geometry: source.geometry,
      width,
      chunks,
    }),
  );
  hash.update(bytes(spec.X));
  for (const t of spec.terms) {
    hash.update(bytes(t.factor.codes));
    hash.update(bytes(t.z));
  }
  hash.update(bytes(prepared.rowImage));
  if (prepared.mask) hash.update(prepared.mask);
  if (source.files) {
    for (const file of source.files) {
      const stat = fs.statSync(file);
      hash.update(`${file}\u0000${stat.size}\u0000${stat.mtimeMs}\u0000`);
    }
  } else if (options.images instanceof Float32Array) hash.update(bytes(options.images));
  return hash.digest('hex');
}

function readJSON<T>(path: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes `text` to `path` under a temporary name first, so readers see all of it or nothing. */
function writeAtomically(path: string, text: string): void {
  // several array tasks may write the same plan at once, from several hosts
  const tmp = `${path}.${os.hostname()}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path);
}

/** Writes plan.json, or checks that the one there describes the same analysis and split. */
function settlePlan(dir: string, plan: ChunkPlan): void {
  fs.mkdirSync(dir, { recursive: true });
  const path = nodePath.join(dir, PLAN);
  const existing = readJSON<ChunkPlan>(path);
  if (existing === undefined) {
    writeAtomically(path, JSON.stringify(plan, null, 1));
    return;
  }
  if (existing.fingerprint === plan.fingerprint) return;
  const what =
    existing.chunks !== plan.chunks
      ? `a split into ${existing.chunks} chunks (not ${plan.chunks})`
      : 'another analysis (other data, model, options or neurolmm version)';
  throw new DataError(`${dir} holds chunks of ${what}: remove that folder or write to another output folder`);
}

/** Chunk i's manifest if its folder is complete and belongs to the plan. */
function completeChunk(dir: string, plan: ChunkPlan, chunk: number): ChunkManifest | undefined {
  const path = nodePath.join(dir, chunkName(chunk, plan.chunks));
  const manifest = readJSON<ChunkManifest>(nodePath.join(path, MANIFEST));
  if (!manifest || manifest.fingerprint !== plan.fingerprint || manifest.chunk !== chunk) return undefined;
  const size = (name: string) => (fs.existsSync(nodePath.join(path, name)) ? fs.statSync(nodePath.join(path, name)).size : -1);
  if (size(STATUS) !== manifest.to - manifest.from || size(RECORDS) !== 8 * plan.recordSize * manifest.fitted) return undefined;
  return manifest;
}

/** Which chunks of the folder are complete. */
export function chunkState(dir: string): ChunkState {
  const plan = readJSON<ChunkPlan>(nodePath.join(dir, PLAN));
  if (!plan || plan.format !== 'neurolmm-chunks') throw new DataError(`${dir} is not a folder of chunks (no readable ${PLAN})`);
  const done: number[] = [];
  const missing: number[] = [];
  for (let i = 1; i <= plan.chunks; i++) (completeChunk(dir, plan, i) ? done : missing).push(i);
  return { plan, done, missing };
}

/** An analysis checked and set up for chunking: its plan written (or matched) in the chunk folder. */
interface Opened {
  prepared: Prepared;
  plan: ChunkPlan;
}

function openChunked(formula: string, data: DataInput, options: BrainOptions & ChunkSplit & { chunk?: number }): Opened {
  const { dir } = options;
  if (options.chunks !== undefined && !(Number.isInteger(options.chunks) && options.chunks >= 1)) {
    throw new ModelError(`the number of chunks must be a whole number of at least 1, got ${options.chunks}`);
  }
  const prepared = prepare(formula, data, options);
  try {
    const { spec, source, layout } = prepared;
    const width = chunkWidth(spec.n, source.nvox, options.chunkSize);
    const tasks = Math.ceil(source.nvox / width);
    const chunks = options.chunks ?? Math.min(tasks, Math.ceil(source.nvox / DEFAULT_CHUNK_VOXELS));
    if (chunks > tasks) {
      throw new ModelError(
        `${chunks} chunks asked for, but the ${source.nvox} voxels make ${tasks} tasks of ${width} voxels and a chunk is at least one task: ask for at most ${tasks} chunks`,
      );
    }
    const { chunk } = options;
    if (chunk !== undefined && !(Number.isInteger(chunk) && chunk >= 1 && chunk <= chunks))
      throw new ModelError(`chunk must be a whole number from 1 to ${chunks}, got ${chunk}`);
    const plan: ChunkPlan = {
      format: 'neurolmm-chunks',
      version: 1,
      fingerprint: fingerprint(prepared, options, width, chunks),
      chunks,
      voxels: source.nvox,
      width,
      formula: prepared.formula,
      REML: prepared.REML,
      xNames: spec.xNames,
      dNames: prepared.settings.dNames,
      contrasts: prepared.contrasts,
      ntheta: prepared.ntheta,
      nimages: spec.n,
      geometry: source.geometry,
      recordSize: layout.size,
    };
    settlePlan(dir, plan);
    return { prepared, plan };
  } catch (err) {
    prepared.source.close();
    throw err;
  }
}

/** Fits chunk i of an opened analysis unless it is complete, and writes its folder. */
async function fitChunk(opened: Opened, chunk: number, dir: string, options: BrainOptions): Promise<ChunkRun> {
  const { prepared, plan } = opened;
  const { from, to } = chunkRange(plan, chunk);
  const path = nodePath.join(dir, chunkName(chunk, plan.chunks));
  const done = completeChunk(dir, plan, chunk);
  if (done) return { chunk, chunks: plan.chunks, from, to, path, alreadyDone: true, manifest: done };

  const started = Date.now();
  const cpu = process.cpuUsage();
  const R = plan.recordSize;
  const status = new Uint8Array(to - from).fill(VoxelStatus.outsideMask);
  const records = new Float64Array((to - from) * R);
  let evaluations = 0;
  let crowded = 0;
  const workers = threadCount(options.workers);
  await fitVoxels(prepared, plan.width, { from, to, workers, started, onProgress: options.onProgress }, (result) => {
    const at = result.start - from;
    status.set(result.status, at);
    records.set(result.records, at * R);
    evaluations += result.evaluations;
    crowded += result.crowded;
  });
  // only the fitted voxels' records are kept (the others are NaN)
  let fitted = 0;
  for (let c = 0; c < status.length; c++) {
    if (status[c] !== VoxelStatus.fitted) continue;
    records.copyWithin(fitted * R, c * R, (c + 1) * R);
    fitted++;
  }
  const used = process.cpuUsage(cpu);
  const manifest: ChunkManifest = {
    fingerprint: plan.fingerprint,
    chunk,
    chunks: plan.chunks,
    from,
    to,
    fitted,
    crowded,
    evaluations,
    seconds: (Date.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakMemoryMB: Math.round(process.resourceUsage().maxRSS / 1024),
    workers,
    host: os.hostname(),
    finished: new Date().toISOString(),
  };
  // written under a temporary name, renamed when complete
  for (const stale of fs.readdirSync(dir).filter((f) => f.startsWith(`.${chunkName(chunk, plan.chunks)}.`)))
    fs.rmSync(nodePath.join(dir, stale), { recursive: true, force: true });
  const tmp = fs.mkdtempSync(nodePath.join(dir, `.${chunkName(chunk, plan.chunks)}.`));
  fs.writeFileSync(nodePath.join(tmp, STATUS), status);
  fs.writeFileSync(nodePath.join(tmp, RECORDS), littleEndian(records.subarray(0, fitted * R)));
  fs.writeFileSync(nodePath.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
  fs.rmSync(path, { recursive: true, force: true });
  fs.renameSync(tmp, path);
  return { chunk, chunks: plan.chunks, from, to, path, alreadyDone: false, manifest };
}

/** The bytes of doubles, little-endian whatever the machine. */
function littleEndian(values: Float64Array): Uint8Array {
  if (os.endianness() === 'LE') return bytes(values);
  const out = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => out.writeDoubleLE(v, 8 * i));
  return out;
}

function readDoubles(path: string): Float64Array {
  const buffer = fs.readFileSync(path);
  if (os.endianness() === 'LE') return new Float64Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
  return Float64Array.from({ length: buffer.length / 8 }, (_, i) => buffer.readDoubleLE(8 * i));
}

/**
 * Fits chunk `options.chunk` of `options.chunks` of the whole-brain fit `lmerBrain(formula, data,
 * options)` and writes it under `options.dir`; a complete chunk is not fitted again. Input
 * problems reject before any image data is read, as in `lmerBrain`.
 */
export async function lmerBrainChunk(formula: string, data: DataInput, options: ChunkOptions): Promise<ChunkRun> {
  const opened = openChunked(formula, data, options);
  try {
    return await fitChunk(opened, options.chunk, options.dir, options);
  } finally {
    opened.prepared.source.close();
  }
}

/**
 * Checks the analysis and writes the split's plan, fitting nothing: what a scheduler needs before
 * it submits the chunks. Returns which chunks are complete already.
 */
export function planBrainChunks(formula: string, data: DataInput, options: BrainOptions & ChunkSplit): ChunkState {
  openChunked(formula, data, options).prepared.source.close();
  return chunkState(options.dir);
}

/**
 * The whole fit as checkpoints: fits, one after the other, every chunk not yet complete under
 * `options.dir` (an interrupted run picks up where it stopped), then merges them.
 * `onChunk` hears about each chunk, fitted or found complete.
 */
export async function lmerBrainChunks(
  formula: string,
  data: DataInput,
  options: BrainOptions & ChunkSplit & { onChunk?: (run: ChunkRun) => void },
): Promise<BrainFit> {
  const opened = openChunked(formula, data, options);
  try {
    for (let chunk = 1; chunk <= opened.plan.chunks; chunk++) options.onChunk?.(await fitChunk(opened, chunk, options.dir, options));
  } finally {
    opened.prepared.source.close();
  }
  return mergeBrainChunks([options.dir]);
}

/** The chunk folders named by `dir`: a folder of chunks, an output folder holding one (chunks/), or one chunk's folder. */
function chunkFolders(dir: string): { root: string; only?: number } {
  if (fs.existsSync(nodePath.join(dir, PLAN))) return { root: dir };
  if (fs.existsSync(nodePath.join(dir, 'chunks', PLAN))) return { root: nodePath.join(dir, 'chunks') };
  const manifest = readJSON<ChunkManifest>(nodePath.join(dir, MANIFEST));
  if (manifest && fs.existsSync(nodePath.join(dir, '..', PLAN))) return { root: nodePath.dirname(nodePath.resolve(dir)), only: manifest.chunk };
  throw new DataError(`${dir} is neither a folder of chunks (${PLAN}), an output folder holding one (chunks/${PLAN}), nor a chunk's folder (${MANIFEST})`);
}

/**
 * BLMM's maps from the chunks in `dirs` (folders of chunks, output folders holding chunks/, or
 * single chunks' folders, e.g. copied from several machines): the maps a single run computes,
 * bit for bit. Every chunk of the split must be there and complete; the error names the missing ones.
 * The fit keeps no image data (voxel(i) needs the images: refit that voxel with lmer()).
 */
export function mergeBrainChunks(dirs: string[]): BrainFit {
  if (dirs.length === 0) throw new DataError('no chunk folders to merge');
  let plan: ChunkPlan | undefined;
  let planDir = '';
  const found = new Map<number, { dir: string; manifest: ChunkManifest }>();
  for (const dir of dirs) {
    const { root, only } = chunkFolders(dir);
    const state = chunkState(root);
    if (plan && state.plan.fingerprint !== plan.fingerprint)
      throw new DataError(`${root} holds chunks of another analysis or split than ${planDir}: merge chunks of one analysis at a time`);
    plan ??= state.plan;
    planDir ||= root;
    for (const chunk of state.done) {
      if ((only === undefined || only === chunk) && !found.has(chunk)) found.set(chunk, { dir: root, manifest: completeChunk(root, state.plan, chunk)! });
    }
  }
  const p = plan!;
  const missing = Array.from({ length: p.chunks }, (_, i) => i + 1).filter((i) => !found.has(i));
  if (missing.length) {
    const list = missing.length > 12 ? `${missing.slice(0, 12).join(', ')} and ${missing.length - 12} more` : missing.join(', ');
    throw new DataError(
      `chunk${missing.length > 1 ? 's' : ''} ${list} of ${p.chunks} missing or incomplete in ${dirs.join(', ')}: fit ${missing.length > 1 ? 'them' : 'it'} (--chunk I), or rerun the whole command, which fits only the missing chunks`,
    );
  }
  const layout = new RecordLayout(p.xNames, p.dNames, p.contrasts);
  const assembler = new Assembler(layout, p.xNames.length, p.voxels);
  let seconds = 0;
  for (const [chunk, { dir, manifest }] of [...found].sort((a, b) => a[0] - b[0])) {
    const path = nodePath.join(dir, chunkName(chunk, p.chunks));
    const status = new Uint8Array(fs.readFileSync(nodePath.join(path, STATUS)));
    const compact = readDoubles(nodePath.join(path, RECORDS));
    const R = p.recordSize;
    const records = new Float64Array(status.length * R).fill(NaN);
    for (let c = 0, k = 0; c < status.length; c++) if (status[c] === VoxelStatus.fitted) records.set(compact.subarray(R * k, R * ++k), c * R);
    const result: ChunkResult = {
      start: manifest.from,
      width: manifest.to - manifest.from,
      records,
      status,
      evaluations: manifest.evaluations,
      crowded: manifest.crowded,
    };
    assembler.add(result);
    seconds += manifest.seconds;
  }
  return new BrainFit({
    formula: p.formula,
    REML: p.REML,
    xNames: p.xNames,
    ntheta: p.ntheta,
    nimages: p.nimages,
    nvox: p.voxels,
    geometry: p.geometry,
    contrasts: p.contrasts,
    maps: assembler.finish(),
    status: assembler.status,
    llh: assembler.llh,
    seconds,
    evaluations: assembler.evaluations,
    crowded: assembler.crowded,
  });
}

const MB = 1024 * 1024;
/** Node, the modules and the WebAssembly kernels' memory: peak RSS of a chunk task of a tiny fit is 75-100 MB. */
const BASE_MB = 100;
/** A worker thread's own heap and kernels. */
const WORKER_MB = 40;
/** Requested over estimated: with a fifth to spare, peaks measured at ABCD scale (bench/chunks.ts) came within 5% of the request. */
const SPARE = 1.5;

/**
 * Memory a chunk task needs (MB, half again to spare: garbage not yet collected shows in the peak,
 * and designs can outgrow their estimate): the process, the largest chunk's records, the blocks
 * of images read (of up to READ_BYTES each: those the tasks in flight, up to three per worker,
 * read in place, and the one being read), and per worker the designs cached for missingness
 * patterns (at most 32, at most 256 MB).
 */
export function chunkMemoryMB(plan: ChunkPlan, workers: number): number {
  const voxels = Math.max(...Array.from({ length: plan.chunks }, (_, i) => chunkRange(plan, i + 1)).map((r) => r.to - r.from));
  const n = plan.nimages;
  const imageBytes = 4 * n;
  const tasksPerBlock = Math.max(1, Math.floor(READ_BYTES / (imageBytes * plan.width)));
  const blockVoxels = Math.min(voxels, tasksPerBlock * plan.width);
  const threads = Math.max(1, workers);
  const inFlightTasks = threads * Math.min(3, Math.ceil(voxels / plan.width));
  const blocks = Math.min(Math.ceil(voxels / blockVoxels), Math.ceil(inFlightTasks / tasksPerBlock) + 1);
  const images = blocks * blockVoxels * imageBytes;
  const designBytes = 8 * n * (plan.xNames.length + 2 * (plan.dNames.length + 1));
  const designs = threads * Math.min(32 * designBytes, 256 * MB);
  const records = 2 * 8 * plan.recordSize * voxels;
  const total = BASE_MB * MB + (workers > 1 ? workers * WORKER_MB * MB : 0) + images + designs + records;
  return roundUpMB(SPARE * total);
}

/** Memory the merge needs (MB): every map in float32, the p-values in doubles, and one chunk's records. */
export function mergeMemoryMB(plan: ChunkPlan): number {
  const perVoxel = 4 * (plan.recordSize + plan.contrasts.length * 2 + 2) + 8 * (plan.contrasts.length + 1) + 1;
  const chunkRecords = 2 * 8 * plan.recordSize * Math.ceil(plan.voxels / plan.chunks);
  return roundUpMB(SPARE * (BASE_MB * MB + plan.voxels * perVoxel + chunkRecords));
}

function roundUpMB(bytes: number): number {
  return 50 * Math.ceil(bytes / MB / 50);
}
