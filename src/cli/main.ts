#!/usr/bin/env node
/**
 * The `neurolmm` command: fit, anova, brain, kernel install. User errors print one line (no
 * stack trace) and exit 1; usage errors print the usage and exit 2.
 */
import { NeurolmmError } from '../errors';
import { runAnova } from './anova';
import { factorTypes, parseArgs, required, UsageError } from './args';
import { runBrain } from './brain';
import { runFit } from './fit';
import { runKernelCommand } from './kernel-command';

const USAGE = `neurolmm: linear mixed models with lme4's numbers

  neurolmm fit --data FILE.csv --formula "y ~ x + (1 | g)" [--ml] [--json]
  neurolmm anova --data FILE.csv --formula A --formula B [...] [--ml] [--boundary] [--json]
  neurolmm anova --data FILE.csv --formula A [--type 1|3] [--json]
  neurolmm brain --data table.csv --formula "y ~ x + (1 | subject)" --image-column InputFile --out DIR
                 [--mask M] [--contrast name=vector ...] [--min-percent F] [--min-n N] [--ml] [--workers N]
                 [--overwrite]
  (--factor COLUMN, with --data, reads a column of the CSV file as a factor even where its values are numbers)
  neurolmm brain --config blmm_inputs.yml [--out DIR]
      either with --chunks N [--chunk I]       (chunk I of N only; without --chunk, the missing chunks, then the maps)
      or with --cluster slurm [--chunks N] [--cpus-per-task C] [--mem MB] [--time T] [--partition P]
              [--account A] [--max-running K] [--sbatch ARG ...] [--wait]
  neurolmm brain merge DIR... [--out DIR] [--format nii|nii.gz|gii|dat]
  neurolmm brain --afni model.txt [--out DIR] [--workers N] [--overwrite]   (an AFNI 3dLME script)
  neurolmm kernel install [--user | --prefix DIR]
`;

async function main(argv: string[]): Promise<string | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'fit':
      return runFit(rest);
    case 'anova':
      return anovaCommand(rest);
    case 'brain':
      await runBrain(rest);
      return undefined;
    case 'kernel':
      return runKernelCommand(rest);
    case undefined:
    case '--help':
    case 'help':
      return USAGE;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

/** likelihood-ratio table for several formulas, lmerTest's F table for one */
function anovaCommand(argv: string[]): string {
  const args = parseArgs(argv, ['data', 'formula', 'type', 'factor'], ['ml', 'json', 'boundary']);
  const type = args.options.get('type')?.[0];
  if (type !== undefined && type !== '1' && type !== '3') throw new UsageError(`--type must be 1 or 3, not '${type}'`);
  return runAnova({
    data: required(args, 'data'),
    types: factorTypes(args),
    formulas: args.options.get('formula') ?? [],
    json: args.flags.has('json'),
    ml: args.flags.has('ml'),
    boundary: args.flags.has('boundary'),
    type: type === undefined ? undefined : (Number(type) as 1 | 3),
  });
}

main(process.argv.slice(2)).then(
  (out) => {
    if (out !== undefined) process.stdout.write(out.endsWith('\n') ? out : out + '\n');
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`neurolmm: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof NeurolmmError) {
      process.stderr.write(`neurolmm: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      const e = err as Error;
      process.stderr.write(`neurolmm: internal error: ${e?.message ?? String(err)}\n`);
      if (process.env.NEUROLMM_DEBUG) process.stderr.write(`${e?.stack}\n`);
      process.exitCode = 3;
    }
  },
);
