/**
 * The BLMM toolbox's input file (blmm_inputs.yml; https://github.com/TomMaullin/BLMM, README
 * "Specifying your model") turned into the same lmer() call: X's columns become x1..xp, each
 * random factor f with design columns z1..zk becomes the term (0 + f_z1 + ... | f), and the
 * images listed in Y_files are the response. Relative paths are resolved against the YAML
 * file's folder (and image paths against the Y_files list's folder).
 *
 * A config path can point at any file the user can read, so messages name files, lines and
 * positions but never quote what a file holds.
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { parse as parseYaml, type YAMLError } from 'yaml';
import { DataError } from '../errors';
import { tableOf } from '../frame/table';
import type { Column, Table } from '../frame/types';
import type { ContrastInput } from './contrasts';

export interface BlmmConfig {
  /** the YAML file */
  path: string;
  formula: string;
  table: Table;
  images: string[];
  outdir: string;
  contrasts: Record<string, ContrastInput>;
  minPercent?: number;
  minN?: number;
  mask?: string;
  /** settings of the toolbox's own numerics, which have no effect here */
  ignored: string[];
  /** BLMM's clusterType, lower case ('slurm', 'local', ...), when given */
  clusterType?: string;
  /** BLMM's numNodes: how many cluster jobs work at once */
  numNodes?: number;
}

/** BLMM settings about its own memory, optimizer and batching: meaningless for this engine. */
const IGNORED = new Set(['MAXMEM', 'OutputCovB', 'method', 'tol', 'voxelBatching', 'maxnvb', 'maxnit', 'resms', 'safeMode', 'minlog']);
const KNOWN = new Set([
  ...IGNORED,
  'Y_files',
  'X',
  'Z',
  'outdir',
  'contrasts',
  'Missingness',
  'analysis_mask',
  'data_mask_files',
  'data_mask_thresh',
  'clusterType',
  'numNodes',
]);

function fail(path: string, problem: string): never {
  throw new DataError(`${path}: ${problem}`);
}

function readText(path: string, what: string, config: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return fail(config, `cannot read ${what} '${path}'`);
  }
}

/** A headerless numeric CSV (commas or whitespace), rows of equal length. */
function readMatrix(path: string, what: string, config: string): number[][] {
  const rows = readText(path, what, config)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line, i) =>
      line.split(/[\s,]+/).map((cell, j) => {
        const v = Number(cell);
        if (cell === '' || !Number.isFinite(v))
          fail(path, `${what}: value ${j + 1} on line ${i + 1} is not a number (${what} must be a headerless numeric CSV)`);
        return v;
      }),
    );
  if (rows.length === 0) fail(path, `${what} is empty`);
  const width = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== width) fail(path, `${what}: line ${i + 1} has ${r.length} values, line 1 has ${width}`);
  });
  return rows;
}

function identifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_.]/g, '_');
  return /^[A-Za-z.]/.test(cleaned) ? cleaned : `f_${cleaned}`;
}

/** Reads and checks a BLMM input file; every file it names is read or checked here. */
export function readBlmmConfig(path: string): BlmmConfig {
  const text = readText(path, 'the BLMM input file', path);
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(text) as Record<string, unknown>;
  } catch (err) {
    const at = (err as YAMLError).linePos?.[0];
    return fail(path, `not a valid YAML file${at ? ` (line ${at.line}, column ${at.col})` : ''}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail(path, 'expected a YAML mapping of BLMM inputs');
  const unknown = Object.keys(doc).filter((k) => !KNOWN.has(k));
  // a misspelt setting is worth naming; a key of some other file is not quoted
  const shown = unknown.filter((k) => /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(k));
  if (unknown.length) {
    fail(
      path,
      `not a BLMM input file: ${unknown.length} unknown key${unknown.length > 1 ? 's' : ''}${shown.length === unknown.length ? ` (${shown.join(', ')})` : ''}; BLMM's are ${[...KNOWN].join(', ')}`,
    );
  }
  for (const unsupported of ['data_mask_files', 'data_mask_thresh']) {
    if (doc[unsupported] !== undefined && doc[unsupported] !== null) {
      fail(
        path,
        `${unsupported} is not supported: write the images with 0 (or NaN) outside each image's mask instead, which both BLMM and neurolmm read as missing`,
      );
    }
  }
  const dir = nodePath.dirname(path);
  const file = (key: string): string => {
    const v = doc[key];
    if (typeof v !== 'string' || v.trim() === '') fail(path, `missing ${key}`);
    return nodePath.resolve(dir, v.trim());
  };

  const yList = file('Y_files');
  const images: string[] = [];
  readText(yList, 'Y_files list', path)
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const image = nodePath.resolve(nodePath.dirname(yList), line.trim());
      if (!fs.existsSync(image)) fail(yList, `line ${i + 1} does not name an existing image file (Y_files lists one image path per line)`);
      images.push(image);
    });
  if (images.length === 0) fail(yList, 'lists no images');
  const n = images.length;

  const X = readMatrix(file('X'), 'X', path);
  if (X.length !== n) fail(path, `X has ${X.length} rows but Y_files lists ${n} images`);
  const columns = new Map<string, Column>();
  const fixed: string[] = [];
  X[0].forEach((_, j) => {
    const name = `x${j + 1}`;
    fixed.push(name);
    columns.set(name, { kind: 'numeric', values: Float64Array.from(X, (row) => row[j]) });
  });

  const zList = doc.Z;
  if (!Array.isArray(zList) || zList.length === 0) fail(path, 'Z must list the random factors (f1: {name, factor, design})');
  const terms = zList.map((entry, i) => {
    const spec = entry && typeof entry === 'object' ? (Object.values(entry)[0] as Record<string, unknown>) : undefined;
    if (!spec || typeof spec.factor !== 'string' || typeof spec.design !== 'string') fail(path, `random factor ${i + 1} needs factor and design files`);
    const name = identifier(typeof spec.name === 'string' && spec.name ? spec.name : `f${i + 1}`);
    const factorPath = nodePath.resolve(dir, spec.factor);
    const levels = readMatrix(factorPath, `factor of ${name}`, path).flat();
    if (levels.length !== n) fail(factorPath, `has ${levels.length} entries but Y_files lists ${n} images`);
    columns.set(name, { kind: 'label', values: levels.map((v) => String(v)) });
    const designPath = nodePath.resolve(dir, spec.design);
    const Z = readMatrix(designPath, `design of ${name}`, path);
    if (Z.length !== n) fail(designPath, `has ${Z.length} rows but Y_files lists ${n} images`);
    const zNames = Z[0].map((_, j) => `${name}_z${j + 1}`);
    zNames.forEach((zn, j) => columns.set(zn, { kind: 'numeric', values: Float64Array.from(Z, (row) => row[j]) }));
    return `(0 + ${zNames.join(' + ')} | ${name})`;
  });

  const contrastList = doc.contrasts;
  if (!Array.isArray(contrastList) || contrastList.length === 0) fail(path, 'contrasts must list at least one contrast (c1: {name, vector})');
  const contrasts: Record<string, ContrastInput> = {};
  contrastList.forEach((entry, i) => {
    const spec = entry && typeof entry === 'object' ? (Object.values(entry)[0] as Record<string, unknown>) : undefined;
    if (!spec || !Array.isArray(spec.vector)) fail(path, `contrast ${i + 1} needs a vector`);
    const name = typeof spec.name === 'string' && spec.name ? spec.name : `c${i + 1}`;
    contrasts[name] = spec.vector as number[] | number[][];
  });

  const missingness = (doc.Missingness ?? {}) as Record<string, unknown>;
  const minPercent = missingness.MinPercent === undefined ? undefined : Number(missingness.MinPercent);
  const minN = missingness.MinN === undefined ? undefined : Number(missingness.MinN);
  const clusterType = doc.clusterType;
  if (clusterType !== undefined && typeof clusterType !== 'string') fail(path, `clusterType must be a name such as SLURM, got ${JSON.stringify(clusterType)}`);
  const numNodes = doc.numNodes;
  if (numNodes !== undefined && !(Number.isInteger(numNodes) && (numNodes as number) >= 1))
    fail(path, `numNodes must be a whole number of at least 1, got ${JSON.stringify(numNodes)}`);
  return {
    path,
    formula: `y ~ 0 + ${fixed.join(' + ')} + ${terms.join(' + ')}`,
    table: tableOf(columns, nodePath.basename(path)),
    images,
    outdir: file('outdir'),
    contrasts,
    minPercent,
    minN,
    mask: doc.analysis_mask ? file('analysis_mask') : undefined,
    ignored: Object.keys(doc).filter((k) => IGNORED.has(k)),
    clusterType: clusterType?.toLowerCase(),
    numNodes: numNodes as number | undefined,
  };
}
