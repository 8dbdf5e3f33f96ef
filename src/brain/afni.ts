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
import { varIdent, type VarFunc } from '../nlme/varfunc';
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
  /** model.txt's VarStr: a residual SD per stratum (varIdent) */
  weights?: VarFunc;
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

/** A test as written: 3dLME's GLT/GLF codings, or the older model.txt's pairwise contrasts. */
interface TestSpec {
  kind: 'glt' | 'glf' | 'pairwise';
  /** the option that gave it, for messages (-gltCode 2, line 12's contrast) */
  what: string;
  label: Token;
  code: Token;
}

/** What a script or model.txt says, before it is checked against its data table. */
interface ScriptSpec {
  prefix: string;
  mask?: string;
  model: string;
  modelLine: number;
  ranEff?: string;
  /** the correlation as written, read once the table's variables are known */
  corStr?: { text: string; line: number; style: 'script' | 'model.txt' };
  weights?: VarFunc;
  qVars: string[];
  qVarsLine: number;
  /** -qVarCenters, the mean (3dLME's default), or none (model.txt) */
  centres: number[] | 'mean' | 'none';
  anova: 'sequential' | 'marginal';
  ML: boolean;
  jobs?: number;
  tests: TestSpec[];
  rows: Token[][];
  tableName: string;
  tableLine: number;
  /** 3dLME sum-codes every factor; the 2008 model.txt kept R's defaults */
  sumCoding: boolean;
}

/**
 * Reads a 3dLME script, or the `model.txt` of the first 3dLME (`Output:`, `MASK:`, `Model:`,
 * `Covariates:`, `RanEff:`, `VarStr:`, `CorStr:`, `SS:` lines, pairwise contrasts, the table):
 * one clear error naming the file and line for bad input.
 */
export function readAfniModel(file: string): AfniModel {
  if (!fs.existsSync(file)) throw new DataError(`file not found: ${file}`);
  const text = fs.readFileSync(file, 'utf8');
  const fail = (line: number, message: string): never => {
    throw new DataError(`${file}:${line}: ${message}`);
  };
  const firstLine = text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  const spec = /^\s*[A-Za-z_]+\s*:/.test(firstLine) ? readKeyValueFile(text, file, fail) : readScript(text, file, fail);
  return checkedModel(spec, file, fail);
}

/** 3dLME's command script: options, then -dataTable and the table (inline or @file). */
function readScript(text: string, file: string, fail: (line: number, message: string) => never): ScriptSpec {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const tokens = tokenize(text);
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

  const centersToken = options.get('-qVarCenters') ?? options.get('-qVarsCenters');
  const qVars = value('-qVars') === undefined ? [] : splitList(value('-qVars')!);
  let centres: number[] | 'mean' = 'mean';
  if (centersToken) {
    centres = splitList(centersToken[1].text).map(Number);
    if (centres.length !== qVars.length || centres.some((c) => !Number.isFinite(c)))
      fail(centersToken[0].line, `${centersToken[0].text} needs one number per -qVars variable (${qVars.length}), comma-separated`);
  }
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

  const tests: TestSpec[] = [];
  for (const [kind, count] of [
    ['glt', '-num_glt'],
    ['glf', '-num_glf'],
  ] as const) {
    const n = Number(value(count) ?? 0);
    const given = indexed[kind];
    if (!Number.isInteger(n) || n < 0) fail(lineOf(count), `${count} needs a whole number, got '${value(count)}'`);
    if (given.size !== n) fail(lineOf(count), `${count} says ${n}, but ${given.size} ${kind === 'glt' ? 'GLTs' : 'GLFs'} are given`);
    for (let k = 1; k <= n; k++) {
      const test = given.get(k);
      const where = (test?.label ?? test?.code)?.line ?? lineOf(count);
      if (!test?.label || !test.code) fail(where, `-${kind}Label ${k} and -${kind}Code ${k} must both be given`);
      tests.push({ kind, what: `-${kind}Code ${k}`, label: test!.label!, code: test!.code! });
    }
  }
  const cor = options.get('-corStr');
  return {
    prefix: nodePath.resolve(dir, prefix),
    mask: value('-mask') === undefined ? undefined : nodePath.resolve(dir, value('-mask')!),
    model,
    modelLine: lineOf('-model'),
    ranEff,
    corStr: cor && { text: cor[1].text, line: cor[0].line, style: 'script' },
    qVars,
    qVarsLine: lineOf('-qVars'),
    centres,
    anova: ss === '1' ? 'sequential' : 'marginal',
    ML: options.has('-ML'),
    jobs,
    tests,
    rows,
    tableName,
    tableLine: dataTableLine,
    sumCoding: true,
  };
}

/**
 * The first 3dLME's model.txt: `Key:value` lines (Data, Output, MASK, Model, Covariates, RanEff,
 * VarStr, CorStr, SS, Clusters), then pairs of lines (a contrast's label, then its two sides
 * `A*B-C*D`, one value per model variable in the table's order, 0 averaging over it), then the
 * table from its header line (Subj ... InputFile).
 */
function readKeyValueFile(text: string, file: string, fail: (line: number, message: string) => never): ScriptSpec {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const lines = text.split('\n');
  const keys = new Map<string, { value: string; line: number }>();
  const contrastLines: { text: string; line: number }[] = [];
  let headerAt = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (!line) continue;
    if (/(^|\s)InputFile(\s|$)/.test(line)) {
      headerAt = i;
      break;
    }
    const kv = /^([A-Za-z_]+)\s*:(.*)$/.exec(line);
    const key = kv?.[1].toLowerCase();
    if (kv && key && KEYS.includes(key)) {
      if (keys.has(key)) fail(i + 1, `${kv[1]}: given twice`);
      keys.set(key, { value: kv[2].trim(), line: i + 1 });
    } else contrastLines.push({ text: line, line: i + 1 });
  }
  if (headerAt < 0) fail(lines.length, 'no data table: model.txt ends with the table, its header naming the columns (Subj ... InputFile)');
  const value = (key: string) => {
    const v = keys.get(key)?.value;
    return v === undefined || v === '' || v === 'NA' ? undefined : v;
  };
  const lineOf = (key: string) => keys.get(key)?.line ?? 1;
  const model = value('model') ?? fail(1, 'no Model: line (the fixed effects, e.g. Model:Group*Time)');
  const prefix = value('output') ?? fail(1, 'no Output: line (the output name)');
  if (contrastLines.length % 2) fail(contrastLines.at(-1)!.line, "a contrast needs two lines: its label, then its code (e.g. 'A*t1-B*t1')");
  const tests: TestSpec[] = [];
  for (let c = 0; c < contrastLines.length; c += 2) {
    const [label, code] = [contrastLines[c], contrastLines[c + 1]];
    tests.push({
      kind: 'pairwise',
      what: `the contrast of line ${code.line}`,
      label: { text: label.text, line: label.line, quoted: false },
      code: { text: code.text, line: code.line, quoted: false },
    });
  }
  const ranEff = value('raneff') ?? 'TRUE';
  if (!/^(TRUE|FALSE|T|F)$/i.test(ranEff)) fail(lineOf('raneff'), `RanEff: must be TRUE (a random intercept per Subj) or FALSE, not '${ranEff}'`);
  const ss = value('ss') ?? value('ss_type') ?? 'marginal';
  if (!['sequential', 'marginal'].includes(ss)) fail(lineOf(keys.has('ss') ? 'ss' : 'ss_type'), `SS: must be sequential or marginal, not '${ss}'`);
  const jobsText = value('clusters') ?? value('jobs');
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1))
    fail(lineOf(keys.has('clusters') ? 'clusters' : 'jobs'), `Clusters: needs a whole number, got '${jobsText}'`);
  const varStr = value('varstr');
  let weights: VarFunc | undefined;
  if (varStr !== undefined && varStr !== '0') {
    const form = /^1?\s*(~.*)$/.exec(varStr)?.[1] ?? fail(lineOf('varstr'), `VarStr: is 0 or a varIdent formula such as 1~1|Group, not '${varStr}'`);
    try {
      weights = varIdent(form);
    } catch (err) {
      fail(lineOf('varstr'), `VarStr: ${(err as Error).message}`);
    }
  }
  const corStr = value('corstr');
  const mask = value('mask');
  return {
    prefix: nodePath.resolve(dir, prefix),
    mask: mask === undefined ? undefined : nodePath.resolve(dir, mask),
    model,
    modelLine: lineOf('model'),
    ranEff: /^(TRUE|T)$/i.test(ranEff) ? '~1' : undefined,
    corStr: corStr === undefined || corStr === '0' ? undefined : { text: corStr, line: lineOf('corstr'), style: 'model.txt' },
    weights,
    qVars:
      value('covariates') === undefined
        ? []
        : value('covariates')!
            .split(/[*,+]/)
            .map((s) => s.trim())
            .filter(Boolean),
    qVarsLine: lineOf('covariates'),
    centres: 'none',
    anova: ss as 'sequential' | 'marginal',
    ML: false,
    jobs,
    tests,
    rows: byLine(tokenize(lines.map((l, i) => (i < headerAt ? '' : l)).join('\n'))),
    tableName: file,
    tableLine: headerAt + 1,
    sumCoding: false,
  };
}

/** model.txt's keys (case-insensitive) */
const KEYS = ['data', 'output', 'mask', 'model', 'covariates', 'raneff', 'varstr', 'corstr', 'ss', 'ss_type', 'clusters', 'jobs'];

/** The table read, the variables typed, the structures and tests turned into the fit's options. */
function checkedModel(spec: ScriptSpec, file: string, fail: (line: number, message: string) => never): AfniModel {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const { rows, tableName, qVars } = spec;
  const tableFail = (line: number, message: string): never => {
    throw new DataError(`${tableName}:${line}: ${message}`);
  };
  if (rows.length < 2) tableFail(rows[0]?.[0].line ?? spec.tableLine, 'the data table needs a header (Subj ... InputFile) and at least one row');
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
  for (const q of qVars)
    if (!header.includes(q) || q === 'Subj' || q === 'InputFile') fail(spec.qVarsLine, `quantitative variable '${q}' is not a variable of the data table`);

  const correlation = spec.corStr && correlationOf(spec.corStr, header, (m) => fail(spec.corStr!.line, m));
  const corCovariate = correlation?.form.covariate ? correlation.form.text.replace(/^~/, '').split('|')[0].trim() : undefined;

  // columns: quantitative variables centred, the correlation's covariate as is, every other variable a factor
  const columns = new Map<string, Column>();
  header.slice(0, -1).forEach((name, j) => {
    const cells = body.map((r) => r[j]);
    if (qVars.includes(name) || name === corCovariate) {
      const values = Float64Array.from(cells, (c) => {
        const x = Number(c.text);
        if (c.text.trim() === '' || !Number.isFinite(x))
          tableFail(
            c.line,
            `column '${name}' is ${qVars.includes(name) ? 'a quantitative variable' : "the correlation structure's covariate"} but holds '${c.text}'`,
          );
        return x;
      });
      const q = qVars.indexOf(name);
      if (q >= 0 && spec.centres !== 'none') {
        const centre = spec.centres === 'mean' ? values.reduce((a, v) => a + v, 0) / values.length : spec.centres[q];
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

  // the fixed effects' design (3dLME: its factors sum-coded), to turn the symbolic tests into contrast rows
  let frame: ModelFrame;
  let coding: Record<string, ContrastSpec>;
  try {
    const factors = spec.sumCoding ? Object.keys(modelFrame(`${RESPONSE} ~ ${spec.model}`, table, { responseOptional: true }).factorCodings ?? {}) : [];
    coding = Object.fromEntries(factors.map((f) => [f, 'sum' as const]));
    frame = modelFrame(`${RESPONSE} ~ ${spec.model}`, table, { responseOptional: true, contrasts: coding });
  } catch (err) {
    return fail(spec.modelLine, `model '${spec.model}': ${(err as Error).message}`);
  }
  const centred = spec.centres === 'none' ? [] : qVars;
  const contrasts: Record<string, ContrastInput> = {};
  for (const test of spec.tests) {
    const testFail = (m: string): never => fail(test.code.line, `${test.what}: ${m}`);
    const rows =
      test.kind === 'pairwise'
        ? [pairwiseRow(test.code.text, frame, header.slice(1, -1), testFail)]
        : testRows(test.code.text, frame, centred, test.kind === 'glf', testFail);
    const label = test.label.text;
    const name = label in contrasts ? `${label} (${test.kind.toUpperCase()})` : label;
    if (name in contrasts) fail(test.label.line, `the label '${label}' is used twice`);
    contrasts[name] = test.kind === 'glf' ? rows : rows[0];
  }
  if (correlation)
    frame.xNames.forEach((x, j) => {
      if (!(x in contrasts)) contrasts[x] = frame.xNames.map((_, i) => (i === j ? 1 : 0));
    });
  return {
    file,
    prefix: spec.prefix,
    mask: spec.mask,
    model: spec.model,
    ranEff: spec.ranEff,
    correlation,
    weights: spec.weights,
    anova: spec.anova,
    ML: spec.ML,
    jobs: spec.jobs,
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

/**
 * The residual correlation within Subj: a script's -corStr 'order : AR1' (also ARMA(p,q) and CS;
 * a bare covariate means AR(1), as 3dLME fits), or model.txt's CorStr:1~order|Subj (1 AR(1), 2
 * ARMA(2,0), 3 ARMA(1,1)).
 */
function correlationOf(cor: { text: string; style: 'script' | 'model.txt' }, header: string[], fail: (m: string) => never): CorStruct {
  const { text } = cor;
  let covariate: string;
  let structure: string;
  if (cor.style === 'model.txt') {
    const m =
      /^([123])\s*~\s*([^|]+?)\s*(\|\s*Subj\s*)?$/.exec(text) ??
      fail(`CorStr: is 0 or 1, 2 or 3 with the order's formula, such as 1~order|Subj, not '${text}'`);
    covariate = m![2];
    structure = ['AR1', 'ARMA(2,0)', 'ARMA(1,1)'][Number(m![1]) - 1];
  } else [covariate, structure = 'AR1'] = text.split(':').map((x) => x.trim());
  const what = cor.style === 'script' ? `-corStr '${text}'` : `CorStr: '${text}'`;
  if (!covariate || !header.includes(covariate))
    fail(`${what}: '${covariate}' is not a variable of the data table${cor.style === 'script' ? " (write it as 'order : AR1')" : ''}`);
  const form = `~ ${covariate} | Subj`;
  if (/^AR1$/i.test(structure)) return corAR1(form);
  if (/^CS$/i.test(structure)) return corCompSymm('~ 1 | Subj');
  const arma = /^ARMA\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i.exec(structure);
  if (arma) return corARMA(form, { p: Number(arma[1]), q: Number(arma[2]) });
  return fail(`${what}: the structure must be AR1, ARMA(p,q) or CS, not '${structure}'`);
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
  // the reference grid, covariates at their centre (0) or the value given
  const {
    factors,
    covariates,
    combos,
    design: at,
  } = referenceGrid(frame, (v) => settings.get(v)?.value ?? (centred.includes(v) ? 0 : (grid[v] as { mean: number }).mean));
  const p = frame.xNames.length;
  const X = at();
  const slopes = covariates.filter((v) => settings.get(v)?.slope);
  // a slope: the change in the design row per unit of the covariate (the design is linear in it)
  const design = slopes.length
    ? slopes.reduce((acc, v) => {
        const shifted = at(v);
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

/**
 * The reference grid of the fixed effects: every combination of their factors' levels, covariates
 * at `value(name)`; `design(shift)` is its model matrix (combinations x p, column-major), with
 * covariate `shift` one unit higher.
 */
function referenceGrid(frame: ModelFrame, value: (covariate: string) => number) {
  const grid = frame.gridColumns ?? {};
  const variables = Object.keys(grid);
  const factors = variables.filter((v) => 'levels' in grid[v]);
  const covariates = variables.filter((v) => 'mean' in grid[v]);
  const combos = factors.reduce<string[][]>((acc, f) => acc.flatMap((c) => (grid[f] as { levels: string[] }).levels.map((l) => [...c, l])), [[]]);
  const design = (shift?: string): Float64Array => {
    const cols = new Map<string, Column>();
    factors.forEach((f, j) => cols.set(f, { kind: 'label', values: combos.map((c) => c[j]) }));
    for (const v of covariates) cols.set(v, { kind: 'numeric', values: new Float64Array(combos.length).fill(value(v) + (v === shift ? 1 : 0)) });
    return frame.design.matrix(tableOf(cols));
  };
  return { factors, covariates, combos, design };
}

/**
 * model.txt's contrast `A*t1-B*t1`: the mean prediction over the grid cells matching the left side
 * minus that of the right (the contrast package's type = "average"); each side gives one value per
 * model variable, in the table's column order, 0 meaning every level (a covariate: its mean).
 */
function pairwiseRow(code: string, frame: ModelFrame, columns: string[], fail: (m: string) => never): number[] {
  const grid = frame.gridColumns ?? {};
  const variables = columns.filter((c) => c in grid);
  const sides = code.replace(/\s+/g, '').split('-');
  if (sides.length !== 2) fail(`'${code}' must be two sides joined by '-', each with one value per model variable (${variables.join('*')})`);
  const p = frame.xNames.length;
  const rows = sides.map((side) => {
    const values = side.split('*');
    if (values.length !== variables.length) fail(`'${side}' has ${values.length} values for the ${variables.length} model variables (${variables.join('*')})`);
    const chosen = new Map(variables.map((v, i) => [v, values[i]]));
    for (const [v, x] of chosen) {
      const info = grid[v];
      if (x === '0') continue;
      if ('levels' in info && !info.levels.includes(x)) fail(`'${x}' is not a level of '${v}' (${info.levels.join(', ')})`);
      if ('mean' in info && !Number.isFinite(Number(x))) fail(`'${x}' is not a value of the covariate '${v}'`);
    }
    const { factors, combos, design } = referenceGrid(frame, (v) => (chosen.get(v) === '0' ? (grid[v] as { mean: number }).mean : Number(chosen.get(v))));
    const X = design();
    const matching = combos.flatMap((combo, g) => (factors.every((f, j) => chosen.get(f) === '0' || chosen.get(f) === combo[j]) ? [g] : []));
    return Array.from({ length: p }, (_, c) => matching.reduce((a, g) => a + X[g + c * combos.length], 0) / matching.length);
  });
  return rows[0].map((a, c) => a - rows[1][c]);
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
    weights: m.weights,
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
