/**
 * `neurolmm brain`: the whole-brain fit from a 3dLME-style table (one row per image, file names in
 * a column) or from a BLMM toolbox input file, maps written with BLMM's names, a progress bar on
 * stderr and the fit's summary on stdout.
 *
 *   neurolmm brain --data table.csv --formula "y ~ age + (1 | subject)" --image-column InputFile --out DIR
 *                  [--mask M] [--contrast name=vector ...] [--min-percent F] [--min-n N] [--ml]
 *                  [--keep-zeros] [--image-dir D] [--format nii|nii.gz|gii|dat] [--workers N]
 *   neurolmm brain --config blmm_inputs.yml [--out DIR] [--workers N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readBlmmConfig } from '../brain/blmmconfig';
import { parseContrastArgument, type ContrastInput } from '../brain/contrasts';
import type { BrainFit } from '../brain/fit';
import { lmerBrain, type BrainOptions, type BrainProgress } from '../brain/lmerbrain';
import { readCSV } from '../frame/table';
import { parseArgs, required, UsageError } from './args';

type Format = 'nii' | 'nii.gz' | 'gii' | 'dat';
const FORMATS: Format[] = ['nii', 'nii.gz', 'gii', 'dat'];

function single(args: ReturnType<typeof parseArgs>, name: string): string | undefined {
  const v = args.options.get(name);
  if (v && v.length > 1) throw new UsageError(`--${name} given more than once`);
  return v?.[0];
}

function numberOption(args: ReturnType<typeof parseArgs>, name: string): number | undefined {
  const v = single(args, name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} needs a number, got '${v}'`);
  return x;
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

/** Runs `neurolmm brain` with the arguments after the command name. */
export async function runBrain(argv: string[]): Promise<void> {
  const args = parseArgs(
    argv,
    ['data', 'formula', 'image-column', 'out', 'mask', 'contrast', 'config', 'min-percent', 'min-n', 'workers', 'image-dir', 'format'],
    ['ml', 'keep-zeros', 'quiet'],
  );
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const format = single(args, 'format') as Format | undefined;
  if (format !== undefined && !FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const workers = numberOption(args, 'workers');
  const onProgress = args.flags.has('quiet') ? undefined : progressBar();

  let fit: BrainFit;
  let out: string;
  const config = single(args, 'config');
  if (config !== undefined) {
    for (const name of ['data', 'formula', 'image-column', 'mask', 'contrast', 'min-percent', 'min-n']) {
      if (args.options.has(name)) throw new UsageError(`--${name} cannot be combined with --config (the BLMM input file sets it)`);
    }
    const blmm = readBlmmConfig(config);
    out = single(args, 'out') ?? blmm.outdir;
    if (blmm.ignored.length) process.stderr.write(`neurolmm: ignoring BLMM settings without effect here: ${blmm.ignored.join(', ')}\n`);
    fit = await lmerBrain(blmm.formula, blmm.table, {
      images: blmm.images,
      contrasts: blmm.contrasts,
      mask: blmm.mask,
      minPercent: blmm.minPercent,
      minN: blmm.minN,
      REML: !args.flags.has('ml'),
      workers,
      onProgress,
    });
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(config, path.join(out, 'inputs.yml'));
  } else {
    const data = required(args, 'data');
    const formula = required(args, 'formula');
    const imageColumn = required(args, 'image-column');
    out = required(args, 'out');
    const contrasts: Record<string, ContrastInput> = {};
    for (const c of args.options.get('contrast') ?? []) {
      const [name, value] = parseContrastArgument(c);
      if (name in contrasts) throw new UsageError(`contrast '${name}' given twice`);
      contrasts[name] = value;
    }
    const options: BrainOptions = {
      images: imageColumn,
      imageDir: single(args, 'image-dir'),
      mask: single(args, 'mask'),
      minPercent: numberOption(args, 'min-percent'),
      minN: numberOption(args, 'min-n'),
      zeroIsMissing: !args.flags.has('keep-zeros'),
      contrasts: Object.keys(contrasts).length ? contrasts : undefined,
      REML: !args.flags.has('ml'),
      workers,
      onProgress,
    };
    fit = await lmerBrain(formula, readCSV(data), options);
  }
  // BLMM writes volumes as .nii
  const written = fit.write(out, { format: format ?? (fit.geometry.kind === 'volume' ? 'nii' : undefined) });
  process.stdout.write(`${fit.summary()}\n\nWrote ${written.length} maps to ${out}\n`);
}
