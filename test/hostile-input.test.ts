/**
 * Input as an attacker or a careless user writes it: stray labels in numeric columns, config files
 * pointing at files that are not BLMM inputs, and random formulas and CSV files (never an internal
 * error, never a hang).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readBlmmConfig } from '../src/brain/blmmconfig';
import { DataError, ModelError, NeurolmmError } from '../src/errors';
import { expandFormula } from '../src/formula';
import { readCSV, toTable } from '../src/frame/table';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { repoRoot } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-hostile-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** 150 rows of ages 20..59, with `replace` putting other text in some rows */
function agesCsv(name: string, replace: Record<number, string>): string {
  const lines = ['id,age,y'];
  for (let i = 0; i < 150; i++) lines.push(`${i},${replace[i] ?? 20 + (i % 40)},${(i % 7) + i / 100}`);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

test('a word among numbers is a DataError naming file, column, row and value, not a 150-level factor', () => {
  const file = agesCsv('ages.csv', { 16: 'ten' });
  assert.throws(
    () => readCSV(file),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.startsWith("CSV file 'ages.csv', column 'age': 'ten' at row 17 (line 18) is not a number, though 149 of its 150 values are;") &&
      e.message.includes("readCSV(path, { types: { age: 'factor' } })") &&
      e.message.includes('--factor age'),
  );
  // several strays are listed (three, then a count); NA stays missing
  const several = agesCsv('several.csv', { 3: 'x', 5: 'NA', 7: 'y', 9: '"z"', 11: 'w' });
  assert.throws(
    () => readCSV(several),
    /'x' at row 4 \(line 5\), 'y' at row 8 \(line 9\), 'z' at row 10 \(line 11\), 1 more are not numbers, though 145 of its 149 values are/,
  );
  // the way to say it really is a factor
  const asFactor = readCSV(file, { types: { age: 'factor' } });
  const age = asFactor.column('age')!;
  assert.equal(age.kind, 'label');
  assert.ok(age.values.includes('ten') && age.values.includes('20'));
  // with more than one label in ten values, the column is a factor
  const labels = agesCsv('labels.csv', Object.fromEntries(Array.from({ length: 16 }, (_, i) => [i * 9, `site${i}`])));
  assert.equal(readCSV(labels).column('age')!.kind, 'label');
  // records from JavaScript: the same rule
  const records = Array.from({ length: 30 }, (_, i) => ({ y: i % 5, age: i === 4 ? 'ten' : 20 + i }));
  assert.throws(() => lm('y ~ age', records), /column 'age': 'ten' at row 5 is not a number, though 29 of its 30 values are/);
  assert.equal(toTable(records.map((r) => ({ ...r, age: String(r.age) }))).column('age')!.kind, 'label');
});

test('the command line reads a column as a factor with --factor', () => {
  const file = agesCsv('cli-ages.csv', { 16: 'ten' });
  const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const refused = spawnSync(process.execPath, [cli, 'fit', '--data', file, '--formula', 'y ~ age'], { encoding: 'utf8' });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /column 'age': 'ten' at row 17 \(line 18\) is not a number/);
  const fitted = spawnSync(process.execPath, [cli, 'fit', '--data', file, '--formula', 'y ~ id', '--factor', 'age'], { encoding: 'utf8' });
  assert.equal(fitted.status, 0, fitted.stderr);
});

test('brain --config names files and lines but never quotes what an arbitrary file holds', () => {
  const secret = 'hunter2-secret-token';
  const secretFile = path.join(tmp, 'credentials');
  fs.writeFileSync(secretFile, `${secret}:x:0:0:root:/root:/bin/bash\nline two ${secret}\n`);
  const yamlSecret = path.join(tmp, 'settings.yml');
  fs.writeFileSync(yamlSecret, `api_token_${secret.replace(/-/g, '_')}: 1\n'${secret} with spaces': 2\n`);
  const badYaml = path.join(tmp, 'bad.yml');
  fs.writeFileSync(badYaml, `a: [${secret}\nb: {`);
  const config = (body: string) => {
    const file = path.join(tmp, `config-${Math.random().toString(36).slice(2)}.yml`);
    fs.writeFileSync(file, body);
    return file;
  };
  const cases: [string, RegExp][] = [
    [secretFile, /expected a YAML mapping/],
    [yamlSecret, /not a BLMM input file: 2 unknown keys; BLMM's are /],
    [badYaml, /not a valid YAML file \(line \d+, column \d+\)/],
    [config(`Y_files: ${secretFile}\nX: ${secretFile}\n`), /credentials: line 1 does not name an existing image file/],
  ];
  const images = path.join(tmp, 'images.txt');
  fs.writeFileSync(images, `${secretFile}\n`);
  cases.push([config(`Y_files: ${images}\nX: ${secretFile}\n`), /credentials: X: value 1 on line 1 is not a number \(X must be a headerless numeric CSV\)/]);
  for (const [file, message] of cases) {
    assert.throws(
      () => readBlmmConfig(file),
      (e: unknown) => e instanceof DataError && message.test(e.message) && !e.message.includes('hunter2') && !e.message.includes('root'),
      file,
    );
  }
  // a misspelt setting is still named
  assert.throws(() => readBlmmConfig(config('Y_file: y.txt\n')), /1 unknown key \(Y_file\)/);
});

test('a fixed factor with thousands of levels is refused at once, naming the sizes', () => {
  const n = 20000;
  const data = {
    y: Float64Array.from({ length: n }, (_, i) => Math.sin(i)),
    f: Array.from({ length: n }, (_, i) => `f${i % 5000}`),
    g: Array.from({ length: n }, (_, i) => `g${i % 200}`),
  };
  const start = performance.now();
  assert.throws(
    () => lmer('y ~ f + (1 | g)', data),
    (e: unknown) =>
      e instanceof ModelError &&
      e.message ===
        'the fixed effects have 5000 columns for 20000 rows (4999 of them from f): fitting them as dense fixed effects would take hours; a factor with this many levels is usually a grouping factor, written (1 | f)',
  );
  assert.ok(performance.now() - start < 5000);
  // as a grouping factor it fits
  const small = { y: data.y.subarray(0, 2000), f: data.f.slice(0, 2000).map((f) => `f${Number(f.slice(1)) % 500}`), g: data.g.slice(0, 2000) };
  assert.ok(Number.isFinite(lmer('y ~ 1 + (1 | f) + (1 | g)', small).objective));
});

/** A small deterministic generator (mulberry32) so that a failing input can be reproduced. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];

/** Any failure must be one of neurolmm's typed errors, and each input must be answered quickly. */
function assertHandled(run: () => unknown, input: string): void {
  const start = performance.now();
  try {
    run();
  } catch (e) {
    if (!(e instanceof NeurolmmError)) assert.fail(`internal error ${String(e)} for input ${JSON.stringify(input)}`);
  }
  assert.ok(performance.now() - start < 2000, `slow on input ${JSON.stringify(input)}`);
}

test('random formulas: a parse, a FormulaError/ModelError or a DataError, never an internal error', () => {
  const rand = random(15);
  const atoms = ['x', 'y', 'g', 'h', '1', '0', '-1', '2', '.', '`a b`', 'log(x)', 'I(x^2)', 'poly(x, 2)', 'offset(x)', '1e400', '``', '`'];
  const ops = [' + ', ' - ', ' * ', ' / ', ':', ' | ', ' || ', '^', ' ~ ', '%in%', ', ', '**'];
  const data = { x: [1, 2, 3, 4, 5, 6], y: [2, 1, 4, 3, 6, 5], g: ['a', 'a', 'b', 'b', 'c', 'c'], h: ['u', 'v', 'u', 'v', 'u', 'v'] };
  for (let k = 0; k < 2000; k++) {
    let text = '';
    const length = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < length; i++) {
      if (rand() < 0.2) text += pick(rand, ['(', ')', '((', '))', '-', '+', '~']);
      text += pick(rand, atoms);
      if (i < length - 1) text += pick(rand, ops);
    }
    if (rand() < 0.7) text = `y ~ ${text}`;
    assertHandled(() => expandFormula(text), text);
    assertHandled(() => lm(text, data), text);
  }
  // random characters, including every ASCII symbol, quotes and unpaired surrogates
  const alphabet = ' ()[]{}`\'"~!@#$%^&*-+=|\\:;,.<>/?0123456789abcxyzé\u0000\ud800\n\t';
  for (let k = 0; k < 2000; k++) {
    const text = Array.from({ length: Math.floor(rand() * 30) }, () => pick(rand, [...alphabet])).join('');
    assertHandled(() => expandFormula(text), text);
  }
});

test('random CSV files: a table or a DataError, never an internal error', () => {
  const rand = random(16);
  const pieces = [
    '1',
    '2.5',
    '-3e4',
    'NA',
    '',
    'Inf',
    'TRUE',
    'F',
    'ten',
    '"a"',
    '"b""c"',
    '"',
    '"x\ny"',
    ',',
    '\n',
    '\r\n',
    ' ',
    '\ufeff',
    'x,y',
    '"unclosed',
  ];
  const file = path.join(tmp, 'fuzz.csv');
  for (let k = 0; k < 500; k++) {
    const text = Array.from({ length: Math.floor(rand() * 40) }, () => pick(rand, pieces)).join(rand() < 0.5 ? ',' : '');
    fs.writeFileSync(file, text);
    assertHandled(() => {
      const table = readCSV(file);
      // a table read must be usable as data
      toTable(table);
    }, text);
  }
});
