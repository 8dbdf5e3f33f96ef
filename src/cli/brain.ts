/**
 * `neurolmm brain`: the whole-brain fit from a 3dLME-style table (one row per image, file names in
 * a column) or from a BLMM toolbox input file, maps written with BLMM's names, a progress bar on
 * stderr and the fit's summary on stdout; split into chunks, on this machine or as a SLURM job array.
 *
 *   neurolmm brain --data table.csv --formula "y ~ age + (1 | subject)" --image-column InputFile --out DIR
 *                  [--mask M] [--contrast name=vector ...] [--min-percent F] [--min-n N] [--ml]
 *                  [--keep-zeros] [--image-dir D] [--format nii|nii.gz|gii|dat] [--workers N]
 *   neurolmm brain --config blmm_inputs.yml [--out DIR] [--workers N]
 *   either of them with:
 *     --chunks N --chunk I         fit chunk I of N only, into DIR/chunks
 *     --chunks N                   fit the chunks not yet in DIR/chunks, then merge them
 *     --cluster slurm [--chunks N] [--cpus-per-task C] [--mem MB] [--time T] [--partition P]
 *                     [--account A] [--max-running K] [--sbatch ARG ...] [--wait]
 *   neurolmm brain merge DIR... [--out DIR] [--format F]
 *   --overwrite replaces the maps of an earlier run in the output folder (refused otherwise)
 *
 * The output folder is checked before the fit (writable, no maps of an earlier run unless
 * --overwrite) and the maps are written as one set with a manifest (src/brain/output.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afniLME, readAfniModel } from '../brain/afni';
import { readBlmmConfig } from '../brain/blmmconfig';
import { chunkMemoryMB, chunkState, lmerBrainChunk, lmerBrainChunks, mergeBrainChunks, mergeMemoryMB, planBrainChunks } from '../brain/chunks';
import { parseContrastArgument, type ContrastInput } from '../brain/contrasts';
import type { BrainFit } from '../brain/fit';
import { lmerBrain, type BrainOptions, type BrainProgress } from '../brain/lmerbrain';
import { arrayRanges, followSlurm, shellQuote, submitSlurm } from '../cluster/slurm';
import { DataError } from '../errors';
import { readCSV } from '../frame/table';
import { onOutputFolder, prepareOutputFolder } from '../brain/output';
import type { DataInput } from '../frame/table';
import { factorTypes, parseArgs, required, UsageError, type ParsedArgs } from './args';

type Format = 'nii' | 'nii.gz' | 'gii' | 'dat';
const FORMATS: Format[] = ['nii', 'nii.gz', 'gii', 'dat'];

const MODEL_OPTIONS = [
  'data',
  'formula',
  'image-column',
  'out',
  'mask',
  'contrast',
  'config',
  'min-percent',
  'min-n',
  'workers',
  'image-dir',
  'format',
  'factor',
  'afni',
];
const MODEL_FLAGS = ['ml', 'keep-zeros', 'quiet', 'overwrite'];
/** options of the split and the scheduler: not passed on to the array tasks as they are */
const CLUSTER_OPTIONS = ['chunks', 'chunk', 'cluster', 'cpus-per-task', 'mem', 'time', 'partition', 'account', 'max-running', 'sbatch'];
const CLUSTER_FLAGS = ['wait'];
/** seconds between squeue polls while following the jobs */
const POLL_SECONDS = 2;

function single(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  if (v && v.length > 1) throw new UsageError(`--${name} given more than once`);
  return v?.[0];
}

function numberOption(args: ParsedArgs, name: string): number | undefined {
  const v = single(args, name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} needs a number, got '${v}'`);
  return x;
}

function countOption(args: ParsedArgs, name: string): number | undefined {
  const x = numberOption(args, name);
  if (x !== undefined && !(Number.isInteger(x) && x >= 1)) throw new UsageError(`--${name} needs a whole number of at least 1, got '${single(args, name)}'`);
  return x;
}

function formatOption(args: ParsedArgs): Format | undefined {
  const format = single(args, 'format') as Format | undefined;
  if (format !== undefined && !FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  return format;
}

/** A progress bar on stderr: redrawn in place on a terminal, every 10% otherwise. */
function progressBar(): (p: BrainProgress) => void {
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  return (p) => {
    const fraction = p.voxelsDone / p.voxels;
    const eta = fraction > 0 ? (p.seconds / fraction - p.seconds).toFixed(0) : '?';
    const text = `fitting ${p.voxelsDone}/${p.voxels} voxels (${(100 * fraction).toFixed(0)}%), ${p.seconds.toFixed(1)} s elapsed, ~${eta} s left`;
    if (tty) {
      const width = 30;
      const filled = Math.round(width * fraction);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${fraction >= 1 ? '\n' : ''}`);
    } else if (Math.floor(10 * fraction) > lastTenth) {
      lastTenth = Math.floor(10 * fraction);
      process.stderr.write(`${text}\n`);
    }
  };
}

/** The analysis the arguments describe: a BLMM input file or a table with its options. */
interface Analysis {
  formula: string;
  data: DataInput;
  options: BrainOptions;
  out: string;
  /** the BLMM input file, copied to the output folder */
  config?: string;
  /** BLMM's clusterType and numNodes */
  clusterType?: string;
  numNodes?: number;
}

function analysisOf(args: ParsedArgs): Analysis {
  const workers = numberOption(args, 'workers');
  const onProgress = args.flags.has('quiet') ? undefined : progressBar();
  const REML = !args.flags.has('ml');
  const config = single(args, 'config');
  if (config !== undefined) {
    for (const name of ['data', 'formula', 'image-column', 'mask', 'contrast', 'min-percent', 'min-n', 'factor']) {
      if (args.options.has(name)) throw new UsageError(`--${name} cannot be combined with --config (the BLMM input file sets it)`);
    }
    const blmm = readBlmmConfig(config);
    if (blmm.ignored.length) process.stderr.write(`neurolmm: ignoring BLMM settings without effect here: ${blmm.ignored.join(', ')}\n`);
    return {
      formula: blmm.formula,
      data: blmm.table,
      options: { images: blmm.images, contrasts: blmm.contrasts, mask: blmm.mask, minPercent: blmm.minPercent, minN: blmm.minN, REML, workers, onProgress },
      out: single(args, 'out') ?? blmm.outdir,
      config,
      clusterType: blmm.clusterType,
      numNodes: blmm.numNodes,
    };
  }
  const contrasts: Record<string, ContrastInput> = {};
  for (const c of args.options.get('contrast') ?? []) {
    const [name, value] = parseContrastArgument(c);
    if (name in contrasts) throw new UsageError(`contrast '${name}' given twice`);
    contrasts[name] = value;
  }
  const data = required(args, 'data');
  return {
    formula: required(args, 'formula'),
    data: readCSV(data, { types: factorTypes(args) }),
    options: {
      images: required(args, 'image-column'),
      imageDir: single(args, 'image-dir'),
      mask: single(args, 'mask'),
      minPercent: numberOption(args, 'min-percent'),
      minN: numberOption(args, 'min-n'),
      zeroIsMissing: !args.flags.has('keep-zeros'),
      contrasts: Object.keys(contrasts).length ? contrasts : undefined,
      REML,
      workers,
      onProgress,
    },
    out: required(args, 'out'),
  };
}

/** BLMM's map names */
const PREFIX = 'blmm_vox_';

/** Writes the maps (BLMM writes volumes as .nii) and prints the summary. */
function writeMaps(fit: BrainFit, out: string, format: Format | undefined, overwrite: boolean): void {
  const written = fit.write(out, { format: format ?? (fit.geometry.kind === 'volume' ? 'nii' : undefined), prefix: PREFIX, overwrite });
  process.stdout.write(`${fit.summary()}\n\nWrote ${written.length} maps to ${out}\n`);
}

/** Runs `neurolmm brain` with the arguments after the command name. */
export async function runBrain(argv: string[]): Promise<void> {
  if (argv[0] === 'merge') return runMerge(argv.slice(1));
  const args = parseArgs(argv, [...MODEL_OPTIONS, ...CLUSTER_OPTIONS], [...MODEL_FLAGS, ...CLUSTER_FLAGS]);
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const afni = single(args, 'afni');
  if (afni !== undefined) return runAfni(afni, args);
  const format = formatOption(args);
  const chunks = countOption(args, 'chunks');
  const chunk = countOption(args, 'chunk');
  if (chunk !== undefined && chunks === undefined) throw new UsageError('--chunk needs --chunks (the number of chunks the fit is split into)');
  const analysis = analysisOf(args);
  const { formula, data, options, out } = analysis;
  const overwrite = args.flags.has('overwrite');
  const dir = path.join(out, 'chunks');
  // an array task fits its chunk here, whatever the input file's clusterType says
  const cluster = chunk === undefined ? (single(args, 'cluster') ?? analysis.clusterType) : undefined;
  if (cluster !== undefined && cluster !== 'local' && cluster !== 'slurm') {
    const problem = `cluster type '${cluster}' is not supported: neurolmm submits to SLURM; without a cluster it fits on this machine`;
    if (args.options.has('cluster')) throw new UsageError(problem);
    throw new DataError(`${analysis.config}: clusterType: ${problem} (set clusterType: SLURM or local)`);
  }
  if (cluster !== 'slurm') {
    for (const name of [...CLUSTER_OPTIONS.filter((o) => !['chunks', 'chunk', 'cluster'].includes(o)), ...CLUSTER_FLAGS]) {
      if (args.options.has(name) || args.flags.has(name)) throw new UsageError(`--${name} is for --cluster slurm`);
    }
  }
  // a chunk of an array writes no maps; every other run checks its folder before fitting
  if (chunk === undefined) prepareOutputFolder(out, { prefix: PREFIX, overwrite });
  if (analysis.config) {
    const config = analysis.config;
    onOutputFolder(out, () => {
      fs.mkdirSync(out, { recursive: true });
      fs.copyFileSync(config, path.join(out, 'inputs.yml'));
    });
  }
  if (cluster === 'slurm') return submitToSlurm(argv, args, analysis, chunks, format);
  if (chunk !== undefined) {
    const run = await lmerBrainChunk(formula, data, { ...options, chunks: chunks!, chunk, dir });
    const m = run.manifest;
    const what = run.alreadyDone
      ? 'was complete already: nothing to do'
      : `fitted: ${m.fitted} of ${m.to - m.from} voxels in ${m.seconds.toFixed(1)} s (${m.cpuSeconds.toFixed(1)} s CPU, peak ${m.peakMemoryMB} MB)`;
    process.stdout.write(`chunk ${chunk} of ${chunks} (voxels ${run.from}-${run.to - 1}) ${what}; ${run.path}\n`);
    return;
  }
  let fit: BrainFit;
  if (chunks !== undefined) {
    fit = await lmerBrainChunks(formula, data, {
      ...options,
      chunks,
      dir,
      onChunk: (run) => {
        if (!options.onProgress) return;
        process.stderr.write(`chunk ${run.chunk} of ${run.chunks} ${run.alreadyDone ? 'complete already' : 'fitted'} (${run.path})\n`);
      },
    });
  } else fit = await lmerBrain(formula, data, options);
  writeMaps(fit, out, format, overwrite);
}

/** `neurolmm brain --afni model.txt [--out DIR] [--workers N] [--overwrite] [--quiet]`: a 3dLME script's analysis. */
async function runAfni(file: string, args: ParsedArgs): Promise<void> {
  const allowed = ['afni', 'out', 'workers'];
  for (const name of [...args.options.keys(), ...args.flags]) {
    if (!allowed.includes(name) && !['overwrite', 'quiet'].includes(name))
      throw new UsageError(`--${name} cannot be combined with --afni (the 3dLME script sets the analysis)`);
  }
  const model = readAfniModel(file);
  const out = single(args, 'out') ?? model.prefix.replace(/\.nii(\.gz)?$/, '');
  const overwrite = args.flags.has('overwrite');
  const prefix = `${path.basename(out)}_`;
  prepareOutputFolder(out, { prefix, overwrite });
  const { fit, written } = await afniLME(model, {
    out,
    overwrite,
    workers: numberOption(args, 'workers'),
    onProgress: args.flags.has('quiet') ? undefined : progressBar(),
  });
  process.stdout.write(`${fit.summary()}\n\nWrote ${written.length} maps to ${out}\n`);
}

/** `neurolmm brain merge DIR... [--out DIR] [--format F]`: the maps from complete chunks. */
async function runMerge(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['out', 'format'], ['quiet', 'overwrite']);
  if (args.positional.length === 0) throw new UsageError('brain merge needs the folders of the chunks (DIR/chunks, or DIR)');
  const format = formatOption(args);
  let out = single(args, 'out');
  if (out === undefined) {
    if (args.positional.length > 1) throw new UsageError('brain merge of several folders needs --out');
    const dir = path.resolve(args.positional[0]);
    // the output folder is the one holding chunks/
    out = fs.existsSync(path.join(dir, 'chunks')) ? dir : path.dirname(dir);
  }
  writeMaps(mergeBrainChunks(args.positional), out, format, args.flags.has('overwrite'));
}

/**
 * `--cluster slurm`: checks the analysis and writes the split's plan here, then submits the
 * missing chunks as a job array, its retry and the merge; with --wait, follows them.
 */
async function submitToSlurm(
  argv: string[],
  args: ParsedArgs,
  analysis: Analysis,
  chunksOption: number | undefined,
  format: Format | undefined,
): Promise<void> {
  const { formula, data, options, out } = analysis;
  const outDir = path.resolve(out);
  const dir = path.join(outDir, 'chunks');
  const cpus = countOption(args, 'cpus-per-task') ?? 1;
  const { plan, missing } = planBrainChunks(formula, data, { ...options, chunks: chunksOption, dir });
  const chunks = plan.chunks;
  const memoryMB = countOption(args, 'mem') ?? chunkMemoryMB(plan, cpus);
  const maxRunning = countOption(args, 'max-running') ?? analysis.numNodes;

  // the array tasks rerun this command on their chunk
  const node = [process.execPath, path.join(__dirname, 'main.js')];
  const passed: string[] = [];
  for (const [name, values] of args.options) if (!CLUSTER_OPTIONS.includes(name) && name !== 'workers') for (const v of values) passed.push(`--${name}`, v);
  for (const flag of args.flags) if (!CLUSTER_FLAGS.includes(flag) && flag !== 'quiet') passed.push(`--${flag}`);
  const chunkCommand =
    [...node, 'brain', ...passed, '--chunks', String(chunks)].map(shellQuote).join(' ') +
    ' --chunk "$SLURM_ARRAY_TASK_ID" --workers "${SLURM_CPUS_PER_TASK:-1}" --quiet';
  const mergeCommand = [...node, 'brain', 'merge', dir, '--out', outDir, ...(format ? ['--format', format] : [])].map(shellQuote).join(' ');
  const jobs = submitSlurm({
    name: `neurolmm-${path.basename(outDir)}`,
    cwd: process.cwd(),
    logDir: path.join(dir, 'slurm'),
    chunks: missing,
    chunkCommand,
    mergeCommand,
    resources: {
      cpusPerTask: cpus,
      memoryMB,
      mergeMemoryMB: mergeMemoryMB(plan),
      time: single(args, 'time'),
      partition: single(args, 'partition'),
      account: single(args, 'account'),
      maxRunning,
      extra: args.options.get('sbatch'),
    },
  });
  fs.writeFileSync(path.join(jobs.logDir, 'jobs.json'), JSON.stringify({ ...jobs, submitted: new Date().toISOString(), argv }, null, 1));
  const lines = [
    `${plan.voxels} voxels in ${chunks} chunks; ${chunks - missing.length} complete already`,
    jobs.array
      ? `chunk array ${jobs.array}: chunks ${arrayRanges(missing)}, ${cpus} CPU${cpus > 1 ? 's' : ''} and ${memoryMB} MB per task${maxRunning ? `, at most ${maxRunning} at once` : ''}`
      : 'no chunk to fit',
    ...(jobs.retry ? [`retry array ${jobs.retry}: runs only if a chunk fails, and refits the failed chunks`] : []),
    `merge job ${jobs.merge}: writes the maps to ${outDir}`,
    `logs: ${jobs.logDir}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!args.flags.has('wait')) return;
  await followSlurm(jobs, {
    total: chunks,
    doneChunks: () => new Set(chunkState(dir).done),
    interval: POLL_SECONDS * 1000,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(fs.readFileSync(path.join(jobs.logDir, 'merge.out'), 'utf8'));
}
