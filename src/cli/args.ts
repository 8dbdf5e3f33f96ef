import { NeurolmmError } from '../errors';
import type { ColumnType } from '../frame/table';

/** A command-line usage problem: printed with the command's usage, exit code 2. */
export class UsageError extends NeurolmmError {}

export interface ParsedArgs {
  /** options by name; repeated options collect into arrays */
  options: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
}

/**
 * Parses `--name value`, `--name=value` and boolean `--flag` options. `flagNames` lists the
 * options that take no value; anything else unknown is a usage error naming it.
 */
export function parseArgs(argv: string[], valueNames: string[], flagNames: string[]): ParsedArgs {
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flagNames.includes(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      flags.add(name);
    } else if (valueNames.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option --${name} needs a value`);
      options.set(name, [...(options.get(name) ?? []), value]);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { options, flags, positional };
}

/** Column types for readCSV from repeated `--factor COLUMN` options. */
export function factorTypes(args: ParsedArgs): Record<string, ColumnType> {
  return Object.fromEntries((args.options.get('factor') ?? []).map((name) => [name, 'factor' as const]));
}

/** The single value of a required option. */
export function required(args: ParsedArgs, name: string): string {
  const v = args.options.get(name);
  if (!v) throw new UsageError(`missing --${name}`);
  if (v.length > 1) throw new UsageError(`--${name} given more than once`);
  return v[0];
}
