/**
 * Whole-brain outputs as one set: the maps are written into a hidden staging folder inside the
 * output folder and renamed into place only when every one is written, then a manifest
 * (neurolmm_manifest.json: the maps, the model, the software version, `complete: true`) is
 * renamed in last. A run killed while writing leaves no map under a final name, and a set without
 * a manifest is not a complete run. A folder holding maps of an earlier run is refused unless
 * `overwrite` is given, which replaces them (never a mix of two runs' maps).
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { DataError } from '../errors';

export const MANIFEST_NAME = 'neurolmm_manifest.json';
const STAGING_PREFIX = '.neurolmm-partial-';
const MAP_FILE = /\.(nii|nii\.gz|gii|dat)$/i;

export interface Manifest {
  software: 'neurolmm';
  version: string;
  complete: true;
  written: string;
  /** the model and its settings (formula, REML, images, contrasts), when the maps come from a fit */
  model?: Record<string, unknown>;
  maps: { file: string; name: string; volumes: string[] }[];
}

/** The user-facing message for a file-system failure on the output folder. */
function outputError(dir: string, err: unknown): DataError {
  const code = (err as NodeJS.ErrnoException).code;
  const problem =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'permission denied (choose a folder you can write to)'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'it, or a folder on its path, is a file'
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? 'the disk is full'
          : code === 'ENAMETOOLONG'
            ? 'the path is too long'
            : (err as Error).message;
  return new DataError(`cannot write the output folder '${dir}': ${problem}`);
}

/** Runs a file-system action on the output folder, its failures turned into one clear DataError. */
export function onOutputFolder<T>(dir: string, action: () => T): T {
  try {
    return action();
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw outputError(dir, err);
  }
}

/** Map files (by the map prefix) and the manifest of an earlier run in `dir`. */
function earlierRun(dir: string, prefix: string): string[] {
  return fs.readdirSync(dir).filter((f) => f === MANIFEST_NAME || (f.startsWith(prefix) && MAP_FILE.test(f)));
}

/** Staging folders of runs that died while writing (their process is gone). */
function removeDeadStaging(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    if (!f.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(f.slice(STAGING_PREFIX.length).split('-')[0]);
    let alive: boolean;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid; // this process has no write under way: a reused pid
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) fs.rmSync(nodePath.join(dir, f), { recursive: true, force: true });
  }
}

/**
 * Checks that `dir` can take a new set of maps: it or the folder it would be made in is a writable
 * folder, and it holds no maps of an earlier run unless `overwrite`. Called before a fit (so that a
 * bad folder fails in a second, not after the fit, and nothing is created yet) and when writing.
 */
export function prepareOutputFolder(dir: string, options: { prefix: string; overwrite?: boolean }): void {
  onOutputFolder(dir, () => {
    let existing = nodePath.resolve(dir);
    while (!fs.existsSync(existing)) existing = nodePath.dirname(existing);
    if (!fs.statSync(existing).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    fs.accessSync(existing, fs.constants.W_OK);
    if (existing !== nodePath.resolve(dir)) return;
    const earlier = earlierRun(dir, options.prefix);
    if (earlier.length && !options.overwrite) {
      const shown = earlier.slice(0, 3).join(', ') + (earlier.length > 3 ? `, ... (${earlier.length} files)` : '');
      throw new DataError(
        `the output folder '${dir}' holds the maps of an earlier run (${shown}); choose another folder, or replace them with --overwrite (write(dir, { overwrite: true }))`,
      );
    }
  });
}

/**
 * Writes a set of maps atomically: `writeInto(staging)` writes every map into the staging folder
 * and returns their paths; they are renamed into `dir` with the manifest last. Returns the final paths.
 */
export function writeMapSet(
  dir: string,
  options: { prefix: string; overwrite?: boolean; model?: Record<string, unknown> },
  writeInto: (staging: string) => { path: string; name: string; volumes: string[] }[],
): string[] {
  prepareOutputFolder(dir, options);
  return onOutputFolder(dir, () => {
    fs.mkdirSync(dir, { recursive: true });
    removeDeadStaging(dir);
    const staging = fs.mkdtempSync(nodePath.join(dir, `${STAGING_PREFIX}${process.pid}-`));
    try {
      const maps = writeInto(staging).map((m) => ({ ...m, file: nodePath.basename(m.path) }));
      const manifest: Manifest = {
        software: 'neurolmm',
        version: packageVersion(),
        complete: true,
        written: new Date().toISOString(),
        ...(options.model ? { model: options.model } : {}),
        maps: maps.map(({ file, name, volumes }) => ({ file, name, volumes })),
      };
      fs.writeFileSync(nodePath.join(staging, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
      // the set is complete: only now does anything of the earlier run go
      for (const f of earlierRun(dir, options.prefix)) fs.rmSync(nodePath.join(dir, f), { force: true });
      for (const m of maps) fs.renameSync(m.path, nodePath.join(dir, m.file));
      fs.renameSync(nodePath.join(staging, MANIFEST_NAME), nodePath.join(dir, MANIFEST_NAME));
      return maps.map((m) => nodePath.join(dir, m.file));
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  });
}

let version: string | undefined;
/** neurolmm's version, from the package.json above this module (src/ or dist/src/). */
export function packageVersion(): string {
  if (version !== undefined) return version;
  for (let dir = __dirname; ; dir = nodePath.dirname(dir)) {
    const file = nodePath.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === 'neurolmm') return (version = String(pkg.version));
    }
    if (nodePath.dirname(dir) === dir) return (version = 'unknown');
  }
}
