/**
 * AFNI 3dLME's command script as input: `3dLME -prefix ... -model ... -ranEff ... -corStr ...
 * -SS_type ... -gltLabel/-gltCode ... -glfLabel/-glfCode ... -dataTable Subj ... InputFile`
 * (the script 3dLME's help suggests saving as a text file), fitted with the whole-brain lme()/gls().
 *
 * As 3dLME does: factors are sum-coded (R's contr.sum), quantitative variables (-qVars) centred
 * on -qVarCenters or their mean, random effects are per `Subj`, the residuals' correlation runs
 * within `Subj`, F tests are nlme's anova() of the -SS_type asked (1 sequential, 3 marginal).
 * GLT and GLF codings are phia's: a weighted combination of the levels of the factors named,
 * averaged over the levels of the others, covariates at their centre (or the value given), a
 * covariate without value meaning its slope (covariates not centred are held at their mean). GLTs are written as t maps (nlme's df), GLFs as F
 * maps; with -corStr, every coefficient gets its t map too (3dLME's basis-function output).
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { DataError } from '../errors';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import { tableOf } from '../frame/table';
import type { Column, ModelFrame, Table } from '../frame/types';
import { corAR1, corARMA, corCompSymm, type CorStruct } from '../nlme/corstruct';
import type { NlmeModel } from '../nlme/lme';
import type { ContrastInput } from './contrasts';
import type { BrainFit } from './fit';
import type { BrainProgress } from './lmerbrain';
import { glsBrain, lmeBrain, type NlmeBrainOptions } from './nlmebrain';

/** A 3dLME script, parsed and checked against its data table. */
export interface AfniModel {
  /** the script's path; relative paths in it are resolved against its folder */
  file: string;
  prefix: string;
  mask?: string;
  /** the fixed effects as written (`0+Time`) */
  model: string;
  /** the random effects within Subj (`~1`, `~1+RT`), or undefined for gls (`-ranEff NA`) */
  ranEff?: string;
  correlation?: CorStruct;
  /** 'sequential' (-SS_type 1) or 'marginal' (3, 3dLME's default) */
  anova: 'sequential' | 'marginal';
  ML: boolean;
  jobs?: number;
  qVars: string[];
  /** the data table: Subj, the variables, InputFile (paths resolved) */
  table: Table;
  images: string[];
  /** T contrasts (GLTs and, with -corStr, the coefficients) and F contrasts (GLFs), named by their labels */
  contrasts: Record<string, ContrastInput>;
  /** the factor codings (sum for every factor, as 3dLME sets R's contrasts) */
  coding: Record<string, ContrastSpec>;
}

/** The response column 3dLME's R code fills with each voxel's values. */
const RESPONSE = 'Beta';

interface Token {
  text: string;
  line: number;
  /** whether any part was quoted (a quoted '-x' is a value, not an option) */
  quoted: boolean;
}

/** Shell words with their line numbers: quotes, backslash-newline continuations, # comments. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === '\\' && text[i + 1] === '\n') {
      line++;
      i += 2;
    } else if (c === '\\' && text[i + 1] === '\r' && text[i + 2] === '\n') {
      line++;
      i += 3;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else {
      const start = line;
      let word = '';
      let quoted = false;
      while (i < text.length && !/\s/.test(text[i])) {
        const q = text[i];
        if (q === "'" || q === '"') {
          const end = text.indexOf(q, i + 1);
          if (end < 0) throw new DataError(`line ${line}: unmatched ${q === "'" ? 'single' : 'double'} quote`);
          const part = text.slice(i + 1, end);
          line += part.split('\n').length - 1;
          word += part;
          quoted = true;
          i = end + 1;
        } else if (q === '\\' && (text[i + 1] === '\n' || text[i + 1] === '\r')) break;
        else {
          word += q;
          i++;
        }
      }
      tokens.push({ text: word, line: start, quoted });
    }
  }
  return tokens;
}

/** Options and how many values each takes; -dataTable takes the rest. */
const ARITY: Record<string, number> = {
  '-prefix': 1,
  '-mask': 1,
  '-model': 1,
  '-ranEff': 1,
  '-corStr': 1,
  '-qVars': 1,
  '-qVarCenters': 1,
  '-qVarsCenters': 1,
  '-SS_type': 1,
  '-num_glt': 1,
  '-gltLabel': 2,
  '-gltCode': 2,
  '-num_glf': 1,
  '-glfLabel': 2,
  '-glfCode': 2,
  '-jobs': 1,
  '-ML': 0,
  '-logLik': 0,
  '-cio': 0,
  '-Rio': 0,
  '-dbgArgs': 0,
};
const UNSUPPORTED = ['-ICC', '-ICCb', '-LOGIT', '-vVars', '-vVarCenters', '-resid', '-cutoff', '-show_allowed_options', '-help'];

/** Reads a 3dLME script (`model.txt`): one clear error naming the file and line for bad input. */
export function readAfniModel(file: string): AfniModel {
  if (!fs.existsSync(file)) throw new DataError(`file not found: ${file}`);
  const dir = nodePath.dirname(nodePath.resolve(file));
  const fail = (line: number, message: string): never => {
    throw new DataError(`${file}:${line}: ${message}`);
  };
  const tokens = tokenize(fs.readFileSync(file, 'utf8'));
  let at = 0;
  if (tokens.length && nodePath.basename(tokens[0].text) === '3dLME') at = 1;
  const options = new Map<string, Token[]>();
  const indexed = { glt: new Map<number, { label?: Token; code?: Token }>(), glf: new Map<number, { label?: Token; code?: Token }>() };
  let dataTable: Token[] | undefined;
  let dataTableLine = 0;
  while (at < tokens.length) {
    const t = tokens[at++];
    if (t.quoted || !t.text.startsWith('-')) fail(t.line, `expected an option such as -model, found '${t.text}'`);
    if (t.text === '-dataTable') {
      dataTableLine = t.line;
      dataTable = tokens.slice(at);
      break;
    }
    if (UNSUPPORTED.includes(t.text)) fail(t.line, `3dLME's ${t.text} is not supported by neurolmm`);
    const arity = ARITY[t.text];
    if (arity === undefined) fail(t.line, `unknown option '${t.text}'`);
    const values = tokens.slice(at, at + arity);
    if (values.length < arity || values.some((v) => !v.quoted && v.text.startsWith('-') && v.text in ARITY))
      fail(t.line, `${t.text} needs ${arity} value${arity > 1 ? 's' : ''}`);
    at += arity;
    const kind = /^-(glt|glf)(Label|Code)$/.exec(t.text);
    if (kind) {
      const k = Number(values[0].text);
      if (!Number.isInteger(k) || k < 1) fail(t.line, `${t.text} needs its test's number (1, 2, ...) first, got '${values[0].text}'`);
      const entry = indexed[kind[1] as 'glt' | 'glf'].get(k) ?? {};
      const field = kind[2] === 'Label' ? 'label' : 'code';
      if (entry[field]) fail(t.line, `${t.text} ${k} given twice`);
      entry[field] = values[1];
      indexed[kind[1] as 'glt' | 'glf'].set(k, entry);
      continue;
    }
    if (options.has(t.text)) fail(t.line, `${t.text} given twice`);
    options.set(t.text, [t, ...values]);
  }
  const value = (name: string) => options.get(name)?.[1]?.text;
  const lineOf = (name: string) => options.get(name)?.[0].line ?? 1;
  if (!dataTable) fail(tokens.at(-1)?.line ?? 1, 'no -dataTable: 3dLME scripts end with -dataTable and the table (Subj ... InputFile)');
  const model = value('-model') ?? fail(1, 'no -model (the fixed effects, e.g. -model "0+Time")');
  const prefix = value('-prefix') ?? fail(1, 'no -prefix (the output name)');

  // the table: inline, or @file as 3dLME allows
  let rows: Token[][];
  let tableName = file;
  if (dataTable!.length === 1 && dataTable![0].text.startsWith('@')) {
    tableName = nodePath.resolve(dir, dataTable![0].text.slice(1));
    if (!fs.existsSync(tableName)) fail(dataTableLine, `-dataTable ${dataTable![0].text}: file not found: ${tableName}`);
    rows = byLine(tokenize(fs.readFileSync(tableName, 'utf8')));
  } else rows = byLine(dataTable!);
  const tableFail = (line: number, message: string): never => {
    throw new DataError(`${tableName}:${line}: ${message}`);
  };
  if (rows.length < 2) tableFail(rows[0]?.[0].line ?? dataTableLine, 'the data table needs a header (Subj ... InputFile) and at least one row');
  const header = rows[0].map((t) => t.text);
  if (header[0] !== 'Subj' || header.at(-1) !== 'InputFile')
    tableFail(rows[0][0].line, `the data table's header must start with Subj and end with InputFile (3dLME's rule), got '${header.join(' ')}'`);
  const duplicate = header.find((h, i) => header.indexOf(h) !== i);
  if (duplicate) tableFail(rows[0][0].line, `column '${duplicate}' appears twice in the header`);
  if (header.includes(RESPONSE)) tableFail(rows[0][0].line, `a column may not be named '${RESPONSE}': 3dLME fills it with the voxel's values`);
  rows.slice(1).forEach((r) => {
    if (r.length !== header.length) tableFail(r[0].line, `${r.length} values for the ${header.length} columns of the header`);
  });
  const body = rows.slice(1);

  const qVarsToken = options.get('-qVars');
  const qVars = qVarsToken ? splitList(qVarsToken[1].text) : [];
  for (const q of qVars)
    if (!header.includes(q) || q === 'Subj' || q === 'InputFile') fail(qVarsToken![0].line, `-qVars: '${q}' is not a variable of the data table`);
  const centersToken = options.get('-qVarCenters') ?? options.get('-qVarsCenters');
  const centers = centersToken ? splitList(centersToken[1].text).map(Number) : undefined;
  if (centersToken && (centers!.length !== qVars.length || centers!.some((c) => !Number.isFinite(c))))
    fail(centersToken[0].line, `${centersToken[0].text} needs one number per -qVars variable (${qVars.length}), comma-separated`);

  const corToken = options.get('-corStr');
  const correlation = corToken ? correlationOf(corToken[1].text, header, (m) => fail(corToken[0].line, m)) : undefined;
  const corCovariate = correlation?.form.covariate ? correlation.form.text.replace(/^~/, '').split('|')[0].trim() : undefined;

  // columns: quantitative variables centred, the correlation's covariate as is, every other variable a factor
  const columns = new Map<string, Column>();
  header.slice(0, -1).forEach((name, j) => {
    const cells = body.map((r) => r[j]);
    if (qVars.includes(name) || name === corCovariate) {
      const values = Float64Array.from(cells, (c) => {
        const x = Number(c.text);
        if (c.text.trim() === '' || !Number.isFinite(x))
          tableFail(c.line, `column '${name}' is ${qVars.includes(name) ? 'a quantitative variable (-qVars)' : 'the -corStr covariate'} but holds '${c.text}'`);
        return x;
      });
      const q = qVars.indexOf(name);
      if (q >= 0) {
        const centre = centers ? centers[q] : values.reduce((a, v) => a + v, 0) / values.length;
        for (let i = 0; i < values.length; i++) values[i] -= centre;
      }
      columns.set(name, { kind: 'numeric', values });
    } else columns.set(name, { kind: 'label', values: cells.map((c) => c.text) });
  });
  const table = tableOf(columns, tableName);
  const images = body.map((r) => {
    const f = r.at(-1)!;
    if (/\[|\]/.test(f.text) || /\+(tlrc|orig|acpc)/.test(f.text))
      tableFail(f.line, `InputFile '${f.text}': AFNI datasets and sub-brick selectors are not read; give one NIfTI (or GIfTI, MGH) image per row`);
    return nodePath.resolve(dir, f.text);
  });

  const ranEffText = value('-ranEff');
  const ranEff = ranEffText === undefined || ranEffText === 'NA' ? undefined : ranEffText;
  if (ranEff !== undefined && !/^~/.test(ranEff.trim()))
    fail(lineOf('-ranEff'), `-ranEff '${ranEff}': a one-sided formula within Subj is expected, such as '~1' or '~1+RT' (or NA for none)`);
  if (ranEff && /pd[A-Z]\w*\(/.test(ranEff)) fail(lineOf('-ranEff'), `-ranEff '${ranEff}': nlme's pdMat classes are not supported; use '~1' or '~1+x'`);
  const ss = value('-SS_type') ?? '3';
  if (ss !== '1' && ss !== '3') fail(lineOf('-SS_type'), `-SS_type must be 1 (sequential) or 3 (marginal), got '${ss}'`);
  const jobsText = value('-jobs');
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) fail(lineOf('-jobs'), `-jobs needs a whole number, got '${jobsText}'`);

  // the fixed effects' design (its factors sum-coded), to turn the symbolic tests into contrast rows
  let frame: ModelFrame;
  let coding: Record<string, ContrastSpec>;
  try {
    const factors = Object.keys(modelFrame(`${RESPONSE} ~ ${model}`, table, { responseOptional: true }).factorCodings ?? {});
    coding = Object.fromEntries(factors.map((f) => [f, 'sum' as const]));
    frame = modelFrame(`${RESPONSE} ~ ${model}`, table, { responseOptional: true, contrasts: coding });
  } catch (err) {
    return fail(lineOf('-model'), `-model '${model}': ${(err as Error).message}`);
  }
  const contrasts: Record<string, ContrastInput> = {};
  for (const [kind, count] of [
    ['glt', '-num_glt'],
    ['glf', '-num_glf'],
  ] as const) {
    const n = Number(value(count) ?? 0);
    const tests = indexed[kind];
    if (!Number.isInteger(n) || n < 0) fail(lineOf(count), `${count} needs a whole number, got '${value(count)}'`);
    if (tests.size !== n) fail(lineOf(count), `${count} says ${n}, but ${tests.size} ${kind === 'glt' ? 'GLTs' : 'GLFs'} are given`);
    for (let k = 1; k <= n; k++) {
      const test = tests.get(k);
      const where = (test?.label ?? test?.code)?.line ?? lineOf(count);
      if (!test?.label || !test.code) fail(where, `-${kind}Label ${k} and -${kind}Code ${k} must both be given`);
      const label = test!.label!.text;
      const rows = testRows(test!.code!.text, frame, qVars, kind === 'glf', (m) => fail(test!.code!.line, `-${kind}Code ${k}: ${m}`));
      const name = label in contrasts ? `${label} (${kind.toUpperCase()})` : label;
      if (name in contrasts) fail(test!.label!.line, `-${kind}Label ${k}: '${label}' is used twice`);
      contrasts[name] = kind === 'glt' ? rows[0] : rows;
    }
  }
  if (correlation)
    frame.xNames.forEach((x, j) => {
      if (!(x in contrasts)) contrasts[x] = frame.xNames.map((_, i) => (i === j ? 1 : 0));
    });
  return {
    file,
    prefix: nodePath.resolve(dir, prefix),
    mask: value('-mask') === undefined ? undefined : nodePath.resolve(dir, value('-mask')!),
    model,
    ranEff,
    correlation,
    anova: ss === '1' ? 'sequential' : 'marginal',
    ML: options.has('-ML'),
    jobs,
    qVars,
    table,
    images,
    contrasts,
    coding,
  };
}

/** Tokens grouped by the line they start on: the rows of a data table. */
function byLine(tokens: Token[]): Token[][] {
  const rows: Token[][] = [];
  for (const t of tokens) {
    const last = rows.at(-1);
    if (last && last[0].line === t.line) last.push(t);
    else rows.push([t]);
  }
  return rows;
}

const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** -corStr 'order : AR1' (3dLME's), also ARMA(p,q) and CS, within Subj; a bare covariate means AR(1). */
function correlationOf(text: string, header: string[], fail: (m: string) => never): CorStruct {
  const [covariate, structure = 'AR1'] = text.split(':').map((s) => s.trim());
  if (!covariate || !header.includes(covariate)) fail(`-corStr '${text}': '${covariate}' is not a variable of the data table (write it as 'order : AR1')`);
  const form = `~ ${covariate} | Subj`;
  if (/^AR1$/i.test(structure)) return corAR1(form);
  if (/^CS$/i.test(structure)) return corCompSymm('~ 1 | Subj');
  const arma = /^ARMA\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i.exec(structure);
  if (arma) return corARMA(form, { p: Number(arma[1]), q: Number(arma[2]) });
  return fail(`-corStr '${text}': the structure must be AR1, ARMA(p,q) or CS, not '${structure}'`);
}

/**
 * A GLT/GLF coding as contrast rows over the fixed effects: `cond : 1*pos -1*neu & 1*pos -1*neg
 * group : 1*pat age : 5`. Each factor named contributes its rows of level weights (GLFs separate
 * rows with &; the rows of several factors are crossed); factors not named are averaged over
 * their levels; a covariate with a value is held there, without one its slope is taken.
 */
function testRows(code: string, frame: ModelFrame, centred: string[], multiple: boolean, fail: (m: string) => never): number[][] {
  const grid = frame.gridColumns ?? {};
  const words = code.replace(/:/g, ' : ').split(/\s+/).filter(Boolean);
  // groups: variable, then its items up to the next "name :"
  const groups: { name: string; items: string[] }[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i + 1] === ':') {
      groups.push({ name: words[i], items: [] });
      i++;
    } else if (groups.length) groups.at(-1)!.items.push(words[i]);
    else fail(`'${code}' must start with a variable and a colon, as in 'cond : 1*A -1*B'`);
  }
  if (groups.length === 0) fail(`'${code}' names no variable`);
  const variables = Object.keys(grid);
  const settings = new Map<string, { rows?: Map<string, number>[]; value?: number; slope?: boolean }>();
  for (const g of groups) {
    const info = grid[g.name];
    if (!info) fail(`'${g.name}' is not a variable of the fixed effects (${variables.join(', ') || 'none'})`);
    if (settings.has(g.name)) fail(`'${g.name}' appears twice`);
    if ('mean' in info!) {
      if (g.items.length > 1 || (g.items.length === 1 && !Number.isFinite(Number(g.items[0]))))
        fail(`the quantitative variable '${g.name}' takes one value ('${g.name} : 2') or none (its slope), not '${g.items.join(' ')}'`);
      settings.set(g.name, g.items.length ? { value: Number(g.items[0]) } : { slope: true });
      continue;
    }
    if (g.items.length === 0) fail(`the factor '${g.name}' needs weights for its levels, as in '${g.name} : 1*${info!.levels[0]}'`);
    const rows: Map<string, number>[] = [new Map()];
    for (const item of g.items) {
      if (item === '&') {
        if (!multiple) fail(`'&' separates the rows of an F test (-glfCode), not of a GLT`);
        rows.push(new Map());
        continue;
      }
      const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\*(.+)$/.exec(item);
      if (!m) fail(`'${item}' is not a weight and a level such as 1*${info!.levels[0]} or -0.5*${info!.levels.at(-1)}`);
      if (!info!.levels.includes(m![2])) fail(`'${m![2]}' is not a level of '${g.name}' (${info!.levels.join(', ')})`);
      const row = rows.at(-1)!;
      row.set(m![2], (row.get(m![2]) ?? 0) + Number(m![1]));
    }
    if (rows.some((r) => r.size === 0)) fail(`an empty row of weights for '${g.name}' (around '&')`);
    settings.set(g.name, { rows });
  }
  // the reference grid: every combination of the factors' levels, covariates at their centre (0) or value
  const factors = variables.filter((v) => 'levels' in grid[v]);
  const covariates = variables.filter((v) => 'mean' in grid[v]);
  const combos: string[][] = factors.reduce<string[][]>((acc, f) => acc.flatMap((c) => (grid[f] as { levels: string[] }).levels.map((l) => [...c, l])), [[]]);
  const gridTable = (shift: string | undefined): Table => {
    const cols = new Map<string, Column>();
    factors.forEach((f, j) => cols.set(f, { kind: 'label', values: combos.map((c) => c[j]) }));
    for (const v of covariates) {
      const s = settings.get(v);
      const info = grid[v] as { mean: number };
      const x = (s?.value ?? (centred.includes(v) ? 0 : info.mean)) + (v === shift ? 1 : 0);
      cols.set(v, { kind: 'numeric', values: new Float64Array(combos.length).fill(x) });
    }
    return tableOf(cols);
  };
  const p = frame.xNames.length;
  const X = frame.design.matrix(gridTable(undefined));
  const slopes = covariates.filter((v) => settings.get(v)?.slope);
  // a slope: the change in the design row per unit of the covariate (the design is linear in it)
  const design = slopes.length
    ? slopes.reduce((acc, v) => {
        const shifted = frame.design.matrix(gridTable(v));
        return acc.map((a, i) => a + shifted[i] - X[i]);
      }, new Float64Array(X.length))
    : X;
  const m = combos.length;
  // crossed rows of weights over the factors named
  const named = factors.filter((f) => settings.get(f)?.rows);
  const crossed = named.reduce<Map<string, number>[][]>((acc, f) => acc.flatMap((c) => settings.get(f)!.rows!.map((r) => [...c, r])), [[]]);
  return crossed.map((weights) => {
    const L = new Array<number>(p).fill(0);
    combos.forEach((combo, g) => {
      let w = 1;
      factors.forEach((f, j) => {
        const k = named.indexOf(f);
        w *= k >= 0 ? (weights[k].get(combo[j]) ?? 0) : 1 / (grid[f] as { levels: string[] }).levels.length;
      });
      if (w !== 0) for (let c = 0; c < p; c++) L[c] += w * design[g + c * m];
    });
    return L;
  });
}

export interface AfniRunOptions {
  /** worker threads (default: -jobs, else one per core) */
  workers?: number;
  /** the output folder (default: -prefix, without a .nii extension) */
  out?: string;
  overwrite?: boolean;
  onProgress?: (p: BrainProgress) => void;
}

/** The whole-brain options of a parsed script. */
export function afniOptions(m: AfniModel, workers?: number): NlmeBrainOptions {
  return {
    images: m.images,
    mask: m.mask,
    contrasts: m.contrasts,
    correlation: m.correlation,
    random: m.ranEff && `${m.ranEff} | Subj`,
    anova: m.anova,
    coding: m.coding,
    method: m.ML ? 'ML' : 'REML',
    workers: workers ?? m.jobs,
  };
}

/**
 * Runs a 3dLME script: lme() (gls() with `-ranEff NA`) at every voxel, then writes the maps as
 * NIfTI into the output folder (anovaF: the F tests per term; conT: the GLTs' t; conF: the GLFs'
 * F; BLMM's other maps and the structure's parameters beside them).
 */
export async function afniLME(
  script: string | AfniModel,
  options: AfniRunOptions = {},
): Promise<{ model: AfniModel; fit: BrainFit<NlmeModel>; out: string; written: string[] }> {
  const model = typeof script === 'string' ? readAfniModel(script) : script;
  const brainOptions = { ...afniOptions(model, options.workers), onProgress: options.onProgress };
  const formula = `${RESPONSE} ~ ${model.model}`;
  const { random, ...withoutRandom } = brainOptions;
  const fit = random ? await lmeBrain(formula, model.table, brainOptions) : await glsBrain(formula, model.table, withoutRandom);
  const out = options.out ?? model.prefix.replace(/\.nii(\.gz)?$/, '');
  const written = fit.write(out, { format: 'nii', prefix: `${nodePath.basename(out)}_`, overwrite: options.overwrite });
  return { model, fit, out, written };
}
