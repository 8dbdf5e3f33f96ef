/**
 * `lmer()` over images: the same formula, model frame, objective and inference as the ROI fit,
 * at every voxel. Everything that can be wrong with the inputs (formula, table, image files and
 * their dimensions, mask, contrasts) is checked before the first chunk is read; then chunks of
 * voxels stream through the engine, in worker threads when there are several cores.
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import type { Worker } from 'worker_threads';
import { DataError, ModelError, NeurolmmError } from '../errors';
import { expandFormula } from '../formula/terms';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import { toTable, type DataInput } from '../frame/table';
import type { Table } from '../frame/types';
import type { ImageGeometry } from '../io/images';
import { threadCount, WorkerThreads } from '../linalg/threads';
import { resolveContrasts, type Contrast, type ContrastInput } from './contrasts';
import type { DesignSpec } from './design';
import { ChunkFitter, type ChunkResult, type ChunkTask, type EngineSettings } from './engine';
import { BrainFit, type BrainMap, type VoxelDataSource } from './fit';
import { covariateScaling, type CovariateScaling } from '../lmm/scaling';
import { dVolumeNames, RecordLayout, VoxelStatus } from './layout';
import { NlmeChunkFitter, type NlmeVoxelSpec } from './nlmevoxel';
import { analysisMask, fileSource, imagePaths, matrixSource, type ImageSource } from './sources';

export interface BrainProgress {
  voxelsDone: number;
  voxels: number;
  chunksDone: number;
  chunks: number;
  seconds: number;
}

export interface BrainOptions {
  /**
   * The images: a column of the table holding file names (NIfTI, GIfTI, MGH/MGZ, curv, .dat), a
   * list of file names (one per table row), or an image-major Float32Array (table row i's image
   * at [i*nvox, (i+1)*nvox)).
   */
  images: string | string[] | Float32Array;
  /** folder that relative image file names are resolved against (default: the working directory) */
  imageDir?: string;
  /** geometry of an in-memory matrix, for writing its maps (default: a surface of nvox vertices) */
  geometry?: ImageGeometry;
  /** analysis mask: an image file or one value per voxel, nonzero = analyse */
  mask?: string | ArrayLike<number>;
  /** BLMM's MinPercent: the fraction (0..1) of the images a voxel must have */
  minPercent?: number;
  /** BLMM's MinN: the number of images a voxel must have */
  minN?: number;
  /** zeros are missing data (BLMM's convention for images masked per subject); default true */
  zeroIsMissing?: boolean;
  /** named contrasts: a vector gives T maps, a matrix F maps; default one T contrast per coefficient */
  contrasts?: Record<string, ContrastInput>;
  REML?: boolean;
  /**
   * lme4's check.nobs.vs.nRE at each voxel's observed images: "ignore" (default, as BLMM) fits
   * voxels with no more observations than random effects, and the summary counts them; "stop"
   * leaves them unfitted, as lmer() with lme4's default would refuse them.
   */
  nobsVsRE?: 'stop' | 'ignore';
  /** worker threads (default: the library's thread count, see `setThreadCount`); 0 or 1 fits in the calling thread */
  workers?: number;
  /**
   * voxels per task (default: about 1/64 of the voxels in multiples of 256, at most 64 MB of images). Each task
   * starts its optimizer afresh, so the maps depend on the data and this width only: not on the
   * number of workers, nor on how the voxels are split over machines (`lmerBrainChunk`).
   */
  chunkSize?: number;
  onProgress?: (progress: BrainProgress) => void;
  /** folder for decoded copies of compressed images (default: the system's temporary folder) */
  cacheDir?: string;
}

/**
 * Bytes of images at most per task: bounds memory whatever the number of images (at most three
 * tasks per worker are alive).
 */
const CHUNK_BYTES = 64 * 1024 * 1024;
/** Bytes of images per read, several tasks' worth: each read of an image file has a cost of its own. */
export const READ_BYTES = 256 * 1024 * 1024;
/** Tasks in a fit by default: enough for the workers of a large machine to finish together. */
const TASKS = 64;
/** Task widths are multiples of the engine's block of voxels fitted together (ChunkFitter's BLOCK). */
const TASK_QUANTUM = 256;

/** Everything checked and set up before the fitting loop. */
export interface Prepared {
  formula: string;
  REML: boolean;
  spec: DesignSpec;
  rowImage: Int32Array;
  settings: EngineSettings;
  contrasts: Contrast[];
  layout: RecordLayout;
  source: ImageSource;
  mask?: Uint8Array;
  data: VoxelDataSource;
  ntheta: number;
  /** the records of voxels fitted on mapped columns (see src/lmm/scaling.ts) on the user's; the identity otherwise */
  toUser(result: ChunkResult): ChunkResult;
  /** an nlme model (lme/gls with residual structures) instead of lmer's */
  nlme?: NlmeVoxelSpec;
  /** the ROI fit of a voxel's table (BrainFit.voxel), and what the summary says of the model; lmer's by default */
  voxelModel?: (table: Table) => unknown;
  description?: string[];
}

/** The table without the response's column, so the model frame takes the response from the images. */
function withoutColumn(table: Table, name: string): Table {
  return {
    names: table.names.filter((x) => x !== name),
    nrows: table.nrows,
    source: table.source,
    column: (c) => (c === name ? undefined : table.column(c)),
  };
}

function responseName(formula: string): string {
  const response = expandFormula(formula).response;
  if (!response || response.type !== 'name') {
    throw new ModelError(`the whole-brain formula needs a plain response name on the left (e.g. 'y ~ age + (1 | subject)'); the images supply its values`);
  }
  return response.name;
}

/** `model`: for models without random effects (gls), `randomEffects: 'none'`; `coding`, the factors' contrasts (lme4's `contrasts = list(...)`). */
export function prepare(
  formula: string,
  data: DataInput,
  options: BrainOptions,
  model: { randomEffects?: 'required' | 'none'; coding?: Record<string, ContrastSpec> } = {},
): Prepared {
  const REML = options.REML ?? true;
  const response = responseName(formula);
  const fullTable = toTable(data);
  const table = withoutColumn(fullTable, response);
  const frame = modelFrame(formula, table, { responseOptional: true, contrasts: model.coding });
  if (model.randomEffects !== 'none' && frame.reTerms.length === 0) throw new ModelError('no random effects terms specified in formula');
  const p = frame.xNames.length;
  // badly scaled or far-off covariates: every voxel is fitted on mapped columns, as lmer() fits
  const scaling = covariateScaling(
    frame,
    frame.reTerms.map((t) => ({ z: t.z, k: t.names.length })),
  );
  const fitted = scaling?.frame ?? frame;
  const spec: DesignSpec = {
    n: frame.n,
    p,
    X: fitted.X,
    xNames: frame.xNames,
    terms: fitted.reTerms.map((t) => ({ group: t.group, names: [...t.names], factor: { codes: t.factor.codes, levels: [...t.factor.levels] }, z: t.z })),
  };
  const contrasts = resolveContrasts(options.contrasts, frame.xNames);
  const what = fullTable.source ? `'${fullTable.source}'` : 'the data';
  let source: ImageSource;
  if (options.images instanceof Float32Array) source = matrixSource(options.images, fullTable.nrows, options.geometry);
  else source = openFiles(fullTable, options.images, frame.rows, what, options);
  try {
    const rowImage = Int32Array.from(frame.rows, (r) => source.tableRowImage[r]);
    const mask = options.mask === undefined ? undefined : analysisMask(options.mask, source.nvox);
    const minPercent = options.minPercent ?? 0;
    if (!(minPercent >= 0 && minPercent <= 1)) throw new ModelError(`minPercent is a fraction between 0 and 1, got ${minPercent}`);
    const minN = Math.max(options.minN ?? 0, Math.ceil(minPercent * frame.n), p + 1);
    const dNames = dVolumeNames(spec.terms);
    // on mapped columns, l beta is (T^-T l)' beta~: the engine tests the mapped contrasts
    const fittedContrasts = scaling ? contrasts.map((c) => ({ ...c, rows: c.rows.map((l) => Array.from(scaling.fixed.contrastForward(l))) })) : contrasts;
    const settings: EngineSettings = {
      REML,
      zeroIsMissing: options.zeroIsMissing ?? true,
      minN,
      contrasts: fittedContrasts,
      dNames,
      nobsVsRE: options.nobsVsRE ?? 'ignore',
    };
    const layout = new RecordLayout(frame.xNames, dNames, contrasts);
    const zeroIsMissing = settings.zeroIsMissing;
    const voxelData: VoxelDataSource = {
      table,
      response,
      values(voxel) {
        const chunk = source.readChunk(voxel, voxel + 1);
        return Float64Array.from(source.tableRowImage, (img) => {
          const y = img < 0 ? NaN : chunk[img];
          return zeroIsMissing && y === 0 ? NaN : y;
        });
      },
    };
    const ntheta = spec.terms.reduce((s, t) => s + (t.names.length * (t.names.length + 1)) / 2, 0);
    const toUser = scaling ? (result: ChunkResult) => recordsOnUserColumns(result, layout, scaling, REML) : (result: ChunkResult) => result;
    return { formula, REML, spec, rowImage, settings, contrasts, layout, source, mask, data: voxelData, ntheta, toUser };
  } catch (err) {
    source.close();
    throw err;
  }
}

/**
 * Voxel records of a fit on mapped columns (see src/lmm/scaling.ts) on the user's: beta = T^-1
 * beta~, each term's covariance T_t^-1 D T_t^-T, and the REML log-likelihood less log|det T|.
 * The contrasts were mapped before the fit, sigma2 and n do not change.
 */
function recordsOnUserColumns(result: ChunkResult, layout: RecordLayout, scaling: CovariateScaling, REML: boolean): ChunkResult {
  const { records, status, width } = result;
  const R = layout.size;
  const beta = layout.field('beta').offset;
  const D = layout.field('D').offset;
  const llh = layout.field('llh').offset;
  const logDet = REML ? scaling.fixed.logDet : 0;
  for (let c = 0; c < width; c++) {
    if (status[c] !== VoxelStatus.fitted) continue;
    const at = c * R;
    scaling.fixed.back(records, at + beta);
    records[at + llh] -= logDet;
    // D holds each term's lower triangle, column by column (dVolumeNames)
    let offset = at + D;
    for (const map of scaling.terms) {
      const k = map.k;
      const cov = new Float64Array(k * k);
      for (let j = 0, o = offset; j < k; j++) for (let i = j; i < k; i++, o++) cov[i + j * k] = cov[j + i * k] = records[o];
      const back = map.backCovariance(cov);
      for (let j = 0; j < k; j++) for (let i = j; i < k; i++) records[offset++] = back[i + j * k];
    }
  }
  return result;
}

/** The image files of the used rows; a missing file's message says where relative names were looked for. */
function openFiles(table: Table, images: string | string[], rows: Int32Array, what: string, options: BrainOptions): ImageSource {
  const baseDir = options.imageDir ?? process.cwd();
  try {
    return fileSource(imagePaths(table, images, baseDir), rows, what, options.cacheDir);
  } catch (err) {
    if (err instanceof DataError && err.message.startsWith('file not found')) {
      throw new DataError(`${err.message} (relative image names are resolved against ${baseDir}; set imageDir, or --image-dir on the command line)`);
    }
    throw err;
  }
}

/** Collects chunk results into maps. */
export class Assembler {
  readonly status: Uint8Array;
  readonly llh: Float64Array;
  readonly maps: BrainMap[] = [];
  /** ln p per contrast (T two-sided, then F), for the p and FDR maps */
  private readonly lnp: Float64Array[];
  private readonly direct: { map: BrainMap; offset: number }[] = [];
  evaluations = 0;
  crowded = 0;

  constructor(
    private readonly layout: RecordLayout,
    /** fixed effects: edf = n - p */
    private readonly p: number,
    private readonly nvox: number,
  ) {
    const L = layout;
    this.status = new Uint8Array(nvox).fill(VoxelStatus.outsideMask);
    this.llh = new Float64Array(nvox).fill(NaN);
    const add = (name: string, volumes: string[], integer = false, fill = NaN): BrainMap => {
      const map: BrainMap = { name, nvol: volumes.length, volumes, data: new Float32Array(volumes.length * nvox).fill(fill), integer };
      this.maps.push(map);
      return map;
    };
    for (const f of L.fields) {
      if (f.name === 'conTlnp' || f.name === 'conFlnp' || f.nvol === 0) continue;
      const integer = f.name === 'n';
      this.direct.push({ map: add(f.name, f.volumes, integer, integer ? 0 : NaN), offset: f.offset });
    }
    add('edf', ['edf'], true, 0);
    add('mask', ['mask'], true, 0);
    const t = L.tContrasts.map((c) => c.name);
    const f = L.fContrasts.map((c) => c.name);
    if (t.length) {
      add('conTp', t);
      add('conTq', t);
    }
    if (f.length) {
      add('conFp', f);
      add('conFq', f);
    }
    this.lnp = [...t, ...f].map(() => new Float64Array(nvox).fill(NaN));
  }

  private mapNamed(name: string): BrainMap {
    return this.maps.find((m) => m.name === name)!;
  }

  add(result: ChunkResult): void {
    const { start, width, records, status } = result;
    const L = this.layout;
    const R = L.size;
    const nvox = this.nvox;
    const p = this.p;
    const edf = this.mapNamed('edf').data;
    const mask = this.mapNamed('mask').data;
    const llhOffset = L.field('llh').offset;
    const nOffset = L.field('n').offset;
    const lnpOffsets = [...L.tContrasts.map((_, i) => L.field('conTlnp').offset + i), ...L.fContrasts.map((_, i) => L.field('conFlnp').offset + i)];
    this.evaluations += result.evaluations;
    this.crowded += result.crowded;
    for (let c = 0; c < width; c++) {
      const i = start + c;
      this.status[i] = status[c];
      if (status[c] !== VoxelStatus.fitted) continue;
      const at = c * R;
      for (const { map, offset } of this.direct) for (let v = 0; v < map.nvol; v++) map.data[v * nvox + i] = records[at + offset + v];
      this.llh[i] = records[at + llhOffset];
      edf[i] = records[at + nOffset] - p;
      mask[i] = 1;
      lnpOffsets.forEach((o, k) => (this.lnp[k][i] = records[at + o]));
    }
  }

  /** p-values and Benjamini-Hochberg q-values within the fitted voxels, per contrast, in log space. */
  finish(): BrainMap[] {
    const L = this.layout;
    const nT = L.tContrasts.length;
    const fitted: number[] = [];
    for (let i = 0; i < this.nvox; i++) if (this.status[i] === VoxelStatus.fitted) fitted.push(i);
    this.lnp.forEach((lnp, k) => {
      const [pName, qName, v] = k < nT ? ['conTp', 'conTq', k] : ['conFp', 'conFq', k - nT];
      const pMap = this.mapNamed(pName).data.subarray(v * this.nvox, (v + 1) * this.nvox);
      const qMap = this.mapNamed(qName).data.subarray(v * this.nvox, (v + 1) * this.nvox);
      const order = fitted.filter((i) => !Number.isNaN(lnp[i])).sort((a, b) => lnp[a] - lnp[b]);
      const m = order.length;
      let running = 0;
      for (let rank = m; rank >= 1; rank--) {
        const i = order[rank - 1];
        running = Math.min(running, lnp[i] + Math.log(m / rank));
        qMap[i] = Math.exp(running);
      }
      for (const i of fitted) pMap[i] = Math.exp(lnp[i]);
    });
    return this.maps;
  }
}

/**
 * Voxels per task: `requested`, or by default about 1/TASKS of the voxels in whole blocks of
 * TASK_QUANTUM, within CHUNK_BYTES of images. A function of the data alone, so that every machine
 * cuts the same tasks.
 */
export function chunkWidth(nimages: number, nvox: number, requested?: number): number {
  if (requested !== undefined) return Math.max(1, Math.min(nvox, Math.floor(requested)));
  const byMemory = Math.max(16, Math.floor(CHUNK_BYTES / (4 * nimages)));
  const byBalance = TASK_QUANTUM * Math.ceil(nvox / TASKS / TASK_QUANTUM);
  return Math.max(1, Math.min(nvox, byMemory, byBalance));
}

/**
 * The tasks of voxels [from, to) (from on the task grid of `width`). Images are read in blocks of
 * up to READ_BYTES, several tasks each, so narrow tasks do not multiply the reads per file; a
 * block is shared memory that its tasks read in place, in worker threads too; a block entirely
 * outside the analysis mask is not read.
 */
function* chunkTasks(prepared: Prepared, width: number, from: number, to: number): Generator<ChunkTask> {
  const { source, mask } = prepared;
  const nimages = source.nimages;
  const blockWidth = width * Math.max(1, Math.floor(READ_BYTES / (4 * nimages * width)));
  for (let blockStart = from; blockStart < to; blockStart += blockWidth) {
    const blockEnd = Math.min(to, blockStart + blockWidth);
    const stride = blockEnd - blockStart;
    let block: Float32Array | undefined;
    for (let start = blockStart; start < blockEnd; start += width) {
      const end = Math.min(blockEnd, start + width);
      const analysis = mask?.slice(start, end);
      if (analysis && !analysis.some((x) => x)) {
        yield { start, width: end - start, Y: new Float32Array(0), stride: 0, offset: 0, analysis };
        continue;
      }
      block ??= source.readChunk(blockStart, blockEnd, new Float32Array(new SharedArrayBuffer(4 * nimages * stride)));
      yield { start, width: end - start, Y: block, stride, offset: start - blockStart, analysis };
    }
  }
}

function finishFit<M>(prepared: Prepared, assembler: Assembler, started: number): BrainFit<M> {
  const { source, spec } = prepared;
  return new BrainFit<M>({
    formula: prepared.formula,
    REML: prepared.REML,
    xNames: spec.xNames,
    ntheta: prepared.ntheta,
    nimages: spec.n,
    nvox: source.nvox,
    geometry: source.geometry,
    contrasts: prepared.contrasts,
    maps: assembler.finish(),
    status: assembler.status,
    llh: assembler.llh,
    seconds: (Date.now() - started) / 1000,
    evaluations: assembler.evaluations,
    crowded: assembler.crowded,
    data: prepared.data,
    voxelModel: prepared.voxelModel as ((table: Table) => M) | undefined,
    description: prepared.description,
  });
}

/** Reports voxels done out of `voxels` in `tasks` tasks, after each task. */
function progressReporter(voxels: number, tasks: number, started: number, onProgress?: (p: BrainProgress) => void) {
  let voxelsDone = 0;
  let chunksDone = 0;
  return (result: ChunkResult) => {
    voxelsDone += result.width;
    chunksDone++;
    onProgress?.({ voxelsDone, voxels, chunksDone, chunks: tasks, seconds: (Date.now() - started) / 1000 });
  };
}

/** The fitter of a task's voxels: lmer's engine, or nlme's models voxel by voxel. */
export function chunkFitter(init: WorkerInit): { process(task: ChunkTask): ChunkResult } {
  return init.nlme ? new NlmeChunkFitter(init.nlme, init.rowImage, init.settings) : new ChunkFitter(init.spec, init.rowImage, init.settings);
}

/** Fits the tasks in the calling thread. */
function fitInThread(prepared: Prepared, tasks: Iterable<ChunkTask>, onResult: (r: ChunkResult) => void): void {
  const fitter = chunkFitter(prepared);
  for (const task of tasks) onResult(prepared.toUser(fitter.process(task)));
}

/** The whole-brain fit in the calling thread (no workers): what `lmerBrain` does with `workers: 0`. */
export function lmerBrainSync(formula: string, data: DataInput, options: BrainOptions): BrainFit {
  const started = Date.now();
  return fitPreparedSync(prepare(formula, data, options), options, started);
}

/** Fits a prepared model in the calling thread; closes its image source. */
export function fitPreparedSync<M>(prepared: Prepared, options: BrainOptions, started: number): BrainFit<M> {
  try {
    const { nvox } = prepared.source;
    const width = chunkWidth(prepared.spec.n, nvox, options.chunkSize);
    const assembler = new Assembler(prepared.layout, prepared.spec.p, nvox);
    const progress = progressReporter(nvox, Math.ceil(nvox / width), started, options.onProgress);
    fitInThread(prepared, chunkTasks(prepared, width, 0, nvox), (result) => {
      assembler.add(result);
      progress(result);
    });
    return finishFit(prepared, assembler, started);
  } finally {
    prepared.source.close();
  }
}

const WORKER_SCRIPT = nodePath.join(__dirname, 'worker.js');

/** Default number of workers: the library's thread count (NEUROLMM_THREADS, else one per core). */
export function defaultWorkers(): number {
  return threadCount();
}

/**
 * Fits voxels [from, to) (from on the task grid of `width`) on `workers` worker threads, or in
 * this thread when there is one worker or one task; `onResult` gets each task's result, in any
 * order, and progress is reported over these voxels.
 */
export async function fitVoxels(
  prepared: Prepared,
  width: number,
  range: { from: number; to: number; workers: number; started: number; onProgress?: (p: BrainProgress) => void },
  onResult: (r: ChunkResult) => void,
): Promise<void> {
  const { from, to } = range;
  const ntasks = Math.ceil((to - from) / width);
  const progress = progressReporter(to - from, ntasks, range.started, range.onProgress);
  const tasks = chunkTasks(prepared, width, from, to);
  const handle = (result: ChunkResult) => {
    onResult(result);
    progress(result);
  };
  const handleMapped = (result: ChunkResult) => handle(prepared.toUser(result));
  if (range.workers <= 1 || ntasks < 2 || !fs.existsSync(WORKER_SCRIPT)) {
    fitInThread(prepared, tasks, handle);
    return;
  }
  // a fit that cannot start fails here, in this thread, with its own message
  const { spec, rowImage, settings, nlme } = prepared;
  chunkFitter(prepared);
  await runWorkers(Math.min(range.workers, ntasks), { spec, rowImage, settings, nlme }, tasks, handleMapped);
}

/**
 * Fits `formula` at every voxel of `options.images` (see BrainOptions). Resolves to a BrainFit
 * whose maps are BLMM's (fit.map('conT')), whose summary() counts voxels and failures, and whose
 * voxel(i) is the ordinary lmer() fit at voxel i. Input problems reject before any image data is read.
 */
export async function lmerBrain(formula: string, data: DataInput, options: BrainOptions): Promise<BrainFit> {
  const started = Date.now();
  return fitPrepared(prepare(formula, data, options), options, started);
}

/** Fits a prepared model on the workers; closes its image source. */
export async function fitPrepared<M>(prepared: Prepared, options: BrainOptions, started: number): Promise<BrainFit<M>> {
  try {
    const { nvox } = prepared.source;
    const width = chunkWidth(prepared.spec.n, nvox, options.chunkSize);
    const assembler = new Assembler(prepared.layout, prepared.spec.p, nvox);
    const workers = threadCount(options.workers);
    await fitVoxels(prepared, width, { from: 0, to: nvox, workers, started, onProgress: options.onProgress }, (result) => assembler.add(result));
    return finishFit(prepared, assembler, started);
  } finally {
    prepared.source.close();
  }
}

export interface WorkerInit {
  spec: DesignSpec;
  rowImage: Int32Array;
  settings: EngineSettings;
  nlme?: NlmeVoxelSpec;
}

/**
 * Runs the tasks on a pool of workers. Each worker holds up to two tasks (one running, one
 * queued) so reading the next chunk overlaps the fitting; results arrive in any order.
 */
function runWorkers(count: number, init: WorkerInit, tasks: Iterator<ChunkTask>, onResult: (r: ChunkResult) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let exhausted = false;
    let failed = false;
    const stop = (err?: unknown) => {
      if (failed) return;
      if (err) failed = true;
      void pool.terminate();
      if (err) reject(err);
      else resolve();
    };
    const feed = (worker: Worker) => {
      if (exhausted || failed) return;
      let next: IteratorResult<ChunkTask>;
      try {
        next = tasks.next();
      } catch (err) {
        stop(err);
        return;
      }
      if (next.done) {
        exhausted = true;
        if (inFlight === 0) stop();
        return;
      }
      inFlight++;
      // a block in shared memory is shared, not transferred: the block's other tasks read it too
      const { buffer } = next.value.Y;
      worker.postMessage(next.value, buffer instanceof ArrayBuffer ? [buffer] : []);
    };
    const pool = new WorkerThreads(count, WORKER_SCRIPT, () => ({ workerData: init }), {
      onDeath: (i, reason, error) => stop(error ?? new NeurolmmError(`the whole-brain fit's worker thread ${i + 1} ${reason}`)),
    });
    for (const worker of pool.workers) {
      worker.on('message', (msg: ChunkResult | { error: string }) => {
        if ('error' in msg) {
          stop(new Error(msg.error));
          return;
        }
        inFlight--;
        try {
          onResult(msg);
        } catch (err) {
          stop(err);
          return;
        }
        feed(worker);
        if (exhausted && inFlight === 0) stop();
      });
    }
    for (let round = 0; round < 2; round++) for (const w of pool.workers) feed(w);
  });
}
