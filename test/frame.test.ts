import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { DataError, FormulaError, ModelError } from '../src/errors';
import { factorOf, interactionFactor, modelFrame, readCSV, toTable, type DataFrameLike, type ModelFrame, type Table } from '../src/frame';

const fixtures = resolve(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (name: string): Table => readCSV(join(fixtures, name));
const scratch = mkdtempSync(join(tmpdir(), 'neurolmm-frame-'));

function writeCSV(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** Row i of the fixed-effects matrix. */
const xRow = (mf: ModelFrame, i: number): number[] => mf.xNames.map((_, j) => mf.X[j * mf.n + i]);
/** Row i of a random term's model matrix. */
const zRow = (mf: ModelFrame, term: number, i: number): number[] => mf.reTerms[term].names.map((_, j) => mf.reTerms[term].z[j * mf.n + i]);

/** A tiny table: two factors f (A, B, C) and g (X, Y), a covariate x, response y. */
const tiny = toTable({
  y: [1.5, 2, 3.25, 4, 5, 6.5, 7, 8],
  x: [1, 2, 3, 4, 5, 6, 7, 8.5],
  f: ['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B'],
  g: ['X', 'Y', 'X', 'Y', 'X', 'Y', 'Y', 'X'],
});

test('readCSV: quoted fields are labels, unquoted numbers numeric (the roi fixtures)', () => {
  const sleep = fixture('sleepstudy.csv');
  assert.equal(sleep.nrows, 180);
  assert.deepEqual(sleep.names, ['Reaction', 'Days', 'Subject']);
  assert.equal(sleep.source, 'sleepstudy.csv');
  const reaction = sleep.column('Reaction')!;
  assert.equal(reaction.kind, 'numeric');
  assert.equal(reaction.values[0], 249.56);
  assert.equal(reaction.values[1], 258.7047);
  const subject = sleep.column('Subject')!;
  assert.equal(subject.kind, 'label');
  assert.equal(subject.values[0], '308');
});

test('readCSV: RFC 4180 quoting, CRLF, missing values, booleans, R typing', () => {
  const path = writeCSV(
    'types.csv',
    '"id","n","s","flag","note","mixed"\r\n' +
      '"1",1.5,"0",TRUE,"say ""hi""",3\r\n' +
      '"2",,"1",FALSE,"a, b",x\r\n' +
      '"10",NA,"1",NA,"two\nlines",4\r\n' +
      '\r\n' +
      '"2",-2e3,NA,T,"",5\r\n',
  );
  const t = readCSV(path);
  assert.equal(t.nrows, 4);
  assert.deepEqual(t.column('id'), { kind: 'label', values: ['1', '2', '10', '2'] });
  const n = t.column('n')!;
  assert.equal(n.kind, 'numeric');
  assert.deepEqual(Array.from(n.values as Float64Array), [1.5, NaN, NaN, -2000]);
  assert.deepEqual(t.column('s'), { kind: 'label', values: ['0', '1', '1', null] });
  assert.deepEqual(t.column('flag'), { kind: 'label', values: ['TRUE', 'FALSE', null, 'TRUE'], boolean: true });
  assert.deepEqual(t.column('note'), { kind: 'label', values: ['say "hi"', 'a, b', 'two\nlines', null] });
  // one unquoted non-number makes the whole column labels
  assert.deepEqual(t.column('mixed'), { kind: 'label', values: ['3', 'x', '4', '5'] });
});

test('readCSV errors name the file and line', () => {
  assert.throws(
    () => readCSV(join(scratch, 'absent.csv')),
    (e: unknown) => e instanceof DataError && /absent\.csv': no such file/.test(e.message),
  );
  assert.throws(
    () => readCSV(writeCSV('empty.csv', '')),
    (e: unknown) => e instanceof DataError && /'empty\.csv' is empty/.test(e.message),
  );
  assert.throws(
    () => readCSV(writeCSV('ragged.csv', 'a,b\n1,2\n3,4,5\n')),
    (e: unknown) => e instanceof DataError && e.message === "CSV file 'ragged.csv' line 3: expected 2 fields like the header, found 3",
  );
  assert.throws(
    () => readCSV(writeCSV('open.csv', 'a,b\n1,"2\n')),
    (e: unknown) => e instanceof DataError && /line 2: a quoted field is never closed/.test(e.message),
  );
});

test('toTable accepts records, columns, a DataFrame and a Table', () => {
  const records = toTable([{ a: 1, b: 'x' }, { a: null, b: 'y', c: true }, { a: 3 }]);
  assert.deepEqual(records.names, ['a', 'b', 'c']);
  assert.equal(records.nrows, 3);
  assert.deepEqual(Array.from(records.column('a')!.values as Float64Array), [1, NaN, 3]);
  assert.deepEqual(records.column('b'), { kind: 'label', values: ['x', 'y', null] });
  assert.deepEqual(records.column('c'), { kind: 'label', values: [null, 'TRUE', null], boolean: true });

  const columns = toTable({ v: Float64Array.of(1, 2), k: Int32Array.of(3, 4), w: ['p', 2.5] }, 'mem');
  assert.deepEqual(Array.from(columns.column('k')!.values as Float64Array), [3, 4]);
  assert.deepEqual(columns.column('w'), { kind: 'label', values: ['p', '2.5'] });
  assert.equal(columns.source, 'mem');
  assert.equal(toTable(columns), columns);
  assert.throws(
    () => toTable({ a: [1, 2], b: [1] }),
    (e: unknown) => e instanceof DataError && /column 'b' has 1 values but column 'a' has 2/.test(e.message),
  );

  // danfojs is loaded only here (it takes most of a second); its DataFrame is matched structurally
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dfd = require('danfojs') as { DataFrame: new (data: object) => DataFrameLike };
  const df = new dfd.DataFrame({ Reaction: [250, 260, 270], Subject: ['308', '308', '309'] });
  const fromDf = toTable(df);
  assert.deepEqual(fromDf.names, ['Reaction', 'Subject']);
  assert.deepEqual(Array.from(fromDf.column('Reaction')!.values as Float64Array), [250, 260, 270]);
  assert.deepEqual(fromDf.column('Subject'), { kind: 'label', values: ['308', '308', '309'] });
});

test('factorOf: R level order', () => {
  const numeric = factorOf(['10', '2', '1', '2', null], 'dog');
  assert.deepEqual(numeric.levels, ['1', '2', '10']);
  assert.deepEqual(Array.from(numeric.codes), [2, 1, 0, 1, -1]);
  assert.equal(numeric.name, 'dog');
  assert.deepEqual(factorOf(['b', 'B', 'a', '_', '10'], 'f').levels, ['10', 'B', '_', 'a', 'b']);
  assert.deepEqual(factorOf([true, false, true], 'flag').levels, ['FALSE', 'TRUE']);
  assert.deepEqual(factorOf([3, 1, 100000, 1], 'n').levels, ['1', '3', '1e+05']);
  const ab = interactionFactor([factorOf(['2', '1', '2', '10', '1'], 'a'), factorOf(['R', 'L', 'L', 'R', 'L'], 'b')]);
  // first factor slowest, unused combinations (1:R, 10:L) dropped
  assert.deepEqual(ab.levels, ['1:L', '2:L', '2:R', '10:R']);
  assert.deepEqual(Array.from(ab.codes), [2, 0, 1, 3, 0]);
  // many levels on each side: the combined codes are too many for a presence table, same result
  const m = 1500;
  const wide = interactionFactor([
    factorOf(
      Array.from({ length: m }, (_, i) => String(i + 1)),
      'a',
    ),
    factorOf(
      Array.from({ length: m }, (_, i) => String(m - i)),
      'b',
    ),
  ]);
  assert.equal(wide.levels.length, m);
  assert.deepEqual(wide.levels.slice(0, 2), ['1:1500', '2:1499']);
  assert.deepEqual(Array.from(wide.codes.subarray(0, 3)), [0, 1, 2]);
});

test('sleepstudy: Reaction ~ Days + (Days | Subject)', () => {
  const mf = modelFrame('Reaction ~ Days + (Days | Subject)', fixture('sleepstudy.csv'));
  assert.equal(mf.n, 180);
  assert.equal(mf.response, 'Reaction');
  assert.equal(mf.nOmitted, 0);
  assert.deepEqual(mf.xNames, ['(Intercept)', 'Days']);
  assert.deepEqual(mf.termLabels, ['Days']);
  assert.deepEqual(Array.from(mf.assign), [-1, 0]);
  assert.equal(mf.hasIntercept, true);
  assert.deepEqual(xRow(mf, 1), [1, 1]);
  assert.deepEqual([mf.y![0], mf.y![1]], [249.56, 258.7047]);
  assert.equal(mf.reTerms.length, 1);
  const subject = mf.reTerms[0];
  assert.equal(subject.group, 'Subject');
  assert.deepEqual(subject.names, ['(Intercept)', 'Days']);
  assert.deepEqual(subject.factor.levels, [
    '308',
    '309',
    '310',
    '330',
    '331',
    '332',
    '333',
    '334',
    '335',
    '337',
    '349',
    '350',
    '351',
    '352',
    '369',
    '370',
    '371',
    '372',
  ]);
  assert.equal(subject.factor.codes[0], 0);
  assert.equal(subject.factor.codes[179], 17);
  assert.deepEqual(zRow(mf, 0, 9), [1, 9]);
  assert.deepEqual(mf.warnings, []);
});

test('Machines: treatment contrasts and a factor in the random term', () => {
  const machines = fixture('Machines.csv');
  const mf = modelFrame('score ~ Machine + (1|Worker)', machines);
  assert.deepEqual(mf.xNames, ['(Intercept)', 'MachineB', 'MachineC']);
  assert.deepEqual(mf.termLabels, ['Machine']);
  assert.deepEqual(Array.from(mf.assign), [-1, 0, 0]);
  assert.deepEqual(xRow(mf, 0), [1, 0, 0]);
  assert.deepEqual(xRow(mf, 18), [1, 1, 0]);
  assert.deepEqual(xRow(mf, 36), [1, 0, 1]);
  assert.equal(mf.y![36], 67.5);
  assert.deepEqual(mf.reTerms[0].factor.levels, ['1', '2', '3', '4', '5', '6']);

  const full = modelFrame('score ~ Machine + (0 + Machine | Worker)', machines);
  assert.deepEqual(full.reTerms[0].names, ['MachineA', 'MachineB', 'MachineC']);
  assert.deepEqual(zRow(full, 0, 18), [0, 1, 0]);
  const contrasts = modelFrame('score ~ Machine + (Machine | Worker)', machines);
  assert.deepEqual(contrasts.reTerms[0].names, ['(Intercept)', 'MachineB', 'MachineC']);
  assert.deepEqual(zRow(contrasts, 0, 36), [1, 0, 1]);
  const split = modelFrame('score ~ Machine + (Machine || Worker)', machines);
  assert.deepEqual(
    split.reTerms.map((t) => t.names),
    [['(Intercept)'], ['MachineA', 'MachineB', 'MachineC']],
  );
  const noIntercept = modelFrame('score ~ 0 + Machine + (1 | Worker)', machines);
  assert.deepEqual(noIntercept.xNames, ['MachineA', 'MachineB', 'MachineC']);
  assert.equal(noIntercept.hasIntercept, false);
});

test('Pixel: I() terms, numeric level order and an interaction grouping factor', () => {
  const mf = modelFrame('pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)', fixture('Pixel.csv'));
  assert.deepEqual(mf.xNames, ['(Intercept)', 'day', 'I(day^2)']);
  assert.deepEqual(mf.termLabels, ['day', 'I(day^2)']);
  assert.deepEqual(xRow(mf, 3), [1, 4, 16]);
  assert.deepEqual(
    mf.reTerms.map((t) => t.group),
    ['Dog', 'Dog:Side'],
  );
  assert.deepEqual(mf.reTerms[0].names, ['(Intercept)', 'day']);
  assert.deepEqual(mf.reTerms[0].factor.levels, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  const dogSide = mf.reTerms[1].factor;
  assert.equal(dogSide.levels.length, 20);
  assert.deepEqual(dogSide.levels.slice(0, 5), ['1:L', '1:R', '2:L', '2:R', '3:L']);
  assert.deepEqual(dogSide.levels.slice(-2), ['10:L', '10:R']);
  assert.equal(dogSide.levels[dogSide.codes[3]], '1:R');
});

test('InstEval: quoted 0/1 is a factor, large crossed grouping factors, fast', () => {
  const instEval = fixture('InstEval.csv');
  const formula = 'y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)';
  modelFrame(formula, instEval); // first call codes the label columns once
  const start = performance.now();
  const mf = modelFrame(formula, instEval);
  const elapsed = performance.now() - start;
  assert.equal(mf.n, 73421);
  assert.deepEqual(mf.xNames, ['(Intercept)', 'service1']);
  assert.deepEqual(xRow(mf, 0), [1, 0]);
  assert.deepEqual(xRow(mf, 1), [1, 1]);
  assert.deepEqual(
    mf.reTerms.map((t) => [t.group, t.factor.levels.length]),
    [
      ['s', 2972],
      ['d', 1128],
      ['dept:service', 28],
    ],
  );
  assert.deepEqual(mf.reTerms[2].factor.levels.slice(0, 3), ['1:0', '1:1', '2:0']);
  assert.ok(elapsed < 1000, `InstEval model frame took ${elapsed.toFixed(0)} ms`);
});

test('Penicillin: two crossed grouping factors', () => {
  const mf = modelFrame('diameter ~ 1 + (1 | plate) + (1 | sample)', fixture('Penicillin.csv'));
  assert.deepEqual(mf.xNames, ['(Intercept)']);
  assert.deepEqual(
    mf.reTerms.map((t) => [t.group, t.factor.levels.length]),
    [
      ['plate', 24],
      ['sample', 6],
    ],
  );
  assert.deepEqual(mf.reTerms[1].factor.levels, ['A', 'B', 'C', 'D', 'E', 'F']);
});

test('model matrices of crossed, nested and interaction-only terms follow R', () => {
  const xf = modelFrame('y ~ x*f', tiny);
  assert.deepEqual(xf.xNames, ['(Intercept)', 'x', 'fB', 'fC', 'x:fB', 'x:fC']);
  assert.deepEqual(xf.termLabels, ['x', 'f', 'x:f']);
  assert.deepEqual(Array.from(xf.assign), [-1, 0, 1, 1, 2, 2]);
  assert.deepEqual(xRow(xf, 1), [1, 2, 1, 0, 2, 0]); // x = 2, f = B
  assert.deepEqual(xRow(xf, 2), [1, 3, 0, 1, 0, 3]); // x = 3, f = C

  assert.deepEqual(modelFrame('y ~ 0 + f', tiny).xNames, ['fA', 'fB', 'fC']);
  assert.deepEqual(modelFrame('y ~ 0 + x + f + g', tiny).xNames, ['x', 'fA', 'fB', 'fC', 'gY']);
  // the first factor of an interaction varies fastest
  assert.deepEqual(modelFrame('y ~ f*g', tiny).xNames, ['(Intercept)', 'fB', 'fC', 'gY', 'fB:gY', 'fC:gY']);
  // f + f:g: g by contrasts would need g alone; so f by indicators, g by contrasts within f
  const nested = modelFrame('y ~ f/g', tiny);
  assert.deepEqual(nested.xNames, ['(Intercept)', 'fB', 'fC', 'fA:gY', 'fB:gY', 'fC:gY']);
  assert.deepEqual(xRow(nested, 3), [1, 0, 0, 1, 0, 0]); // f = A, g = Y
  assert.deepEqual(modelFrame('y ~ x:f', tiny).xNames, ['(Intercept)', 'x:fA', 'x:fB', 'x:fC']);

  // f:g alone: both coded by indicators, which with the intercept is rank deficient; lme4 drops the last
  const interactionOnly = modelFrame('y ~ f:g', tiny);
  assert.deepEqual(interactionOnly.xNames, ['(Intercept)', 'fA:gX', 'fB:gX', 'fC:gX', 'fA:gY', 'fB:gY']);
  assert.deepEqual(interactionOnly.droppedColumns, ['fC:gY']);
  assert.deepEqual(interactionOnly.warnings, ['fixed-effect model matrix is rank deficient so dropping 1 column / coefficient']);
  assert.deepEqual(modelFrame('y ~ 0 + f:g', tiny).xNames, ['fA:gX', 'fB:gX', 'fC:gX', 'fA:gY', 'fB:gY', 'fC:gY']);
});

test('expressions: I(), log(), a transformed response, factor()', () => {
  const mf = modelFrame('log(y) ~ I(x - 2) + I(x^2) + sqrt(x)', tiny);
  assert.equal(mf.response, 'log(y)');
  assert.equal(mf.y![0], Math.log(1.5));
  assert.deepEqual(mf.xNames, ['(Intercept)', 'I(x - 2)', 'I(x^2)', 'sqrt(x)']);
  assert.deepEqual(xRow(mf, 3), [1, 2, 16, 2]);
  const asFactor = modelFrame('y ~ factor(x)', toTable({ y: [1, 2, 3, 4], x: [10, 2, 2, 10] }));
  assert.deepEqual(asFactor.xNames, ['(Intercept)', 'factor(x)10']);
  // log of a negative value: NaN, a warning, and the row omitted
  const negative = modelFrame('y ~ log(x)', toTable({ y: [1, 2, 3, 4], x: [1, -1, Math.E, 4] }));
  assert.deepEqual(Array.from(negative.rows), [0, 2, 3]);
  assert.deepEqual(negative.warnings, ['log(x): NaNs produced']);
  assert.throws(
    () => modelFrame('y ~ foo(x)', tiny),
    (e: unknown) => e instanceof FormulaError && e.position === 4 && /unknown function 'foo'/.test(e.message),
  );
  assert.throws(
    () => modelFrame('y ~ I(f * 2)', tiny),
    (e: unknown) => e instanceof ModelError && /'f' is a label column/.test(e.message),
  );
});

test('grouping factors: nesting, || and numeric grouping columns', () => {
  const data = toTable({
    y: [1, 2, 3, 4, 5, 6, 7, 8],
    x: [0, 1, 0, 1, 0, 1, 0, 1],
    Block: [1, 1, 1, 1, 2, 2, 2, 2],
    Variety: ['a', 'a', 'b', 'b', 'a', 'a', 'b', 'b'],
    Plot: [10, 9, 10, 9, 10, 9, 10, 9],
  });
  const nested = modelFrame('y ~ x + (1 | Block/Variety)', data);
  assert.deepEqual(
    nested.reTerms.map((t) => t.group),
    ['Variety:Block', 'Block'],
  );
  assert.deepEqual(nested.reTerms[0].factor.levels, ['a:1', 'a:2', 'b:1', 'b:2']);
  assert.deepEqual(nested.reTerms[1].factor.levels, ['1', '2']);
  const numericGroup = modelFrame('y ~ 1 + (1 | Plot)', data);
  assert.deepEqual(numericGroup.reTerms[0].factor.levels, ['9', '10']);
  const split = modelFrame('y ~ x + (1 + x || Block)', data);
  assert.deepEqual(
    split.reTerms.map((t) => [t.group, t.names]),
    [
      ['Block', ['(Intercept)']],
      ['Block', ['x']],
    ],
  );
  assert.deepEqual(zRow(split, 1, 1), [1]);
});

test('missing values: rows omitted over every used column, unused levels dropped', () => {
  const data = toTable({
    y: [1, 2, NaN, 4, 5, 6, 7],
    x: [1, 2, 3, null, 5, 6, 7],
    f: ['A', 'B', 'C', 'C', 'A', null, 'B'],
    g: ['u', 'u', 'v', 'v', 'w', 'w', null],
    unused: [null, null, null, null, null, null, null],
  });
  const mf = modelFrame('y ~ x + f + (1 | g)', data);
  assert.deepEqual(Array.from(mf.rows), [0, 1, 4]);
  assert.equal(mf.n, 3);
  assert.equal(mf.nOmitted, 4);
  assert.deepEqual(mf.xNames, ['(Intercept)', 'x', 'fB']); // C only occurs in omitted rows
  assert.deepEqual(mf.reTerms[0].factor.levels, ['u', 'w']);
  assert.deepEqual(Array.from(mf.y!), [1, 2, 5]);
});

/** Asserts a throw of `kind` whose message equals or matches `message`. */
function assertError(fn: () => unknown, kind: new (...args: never[]) => Error, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('data errors name the column, row and problem', () => {
  const sleep = fixture('sleepstudy.csv');
  assertError(
    () => modelFrame('Reaction ~ Dayz + (1 | Subject)', sleep),
    DataError,
    "unknown column 'Dayz' in formula 'Reaction ~ Dayz + (1 | Subject)'; 'sleepstudy.csv' has columns: Reaction, Days, Subject",
  );
  assertError(() => modelFrame('Subject ~ Days', sleep), DataError, /response 'Subject' is a factor .*quoted text/);
  assertError(() => modelFrame('f ~ x', tiny), DataError, "the response 'f' is a factor (label column), not numeric");
  assertError(() => modelFrame('y ~ x', toTable({ y: [], x: [] })), DataError, 'the data has no rows');
  assertError(
    () => modelFrame('y ~ x', toTable({ y: [1, NaN, 3], x: [null, 2, null] })),
    DataError,
    'all 3 rows of the data have a missing value in a used column',
  );
  const infinite = toTable({ y: [1, 2, 3, 4], x: [1, 2, 3, Infinity] }, 'inf.csv');
  assertError(() => modelFrame('y ~ x', infinite), DataError, "column 'x' has an infinite value at row 4 of 'inf.csv'");
  assertError(() => modelFrame('y ~ log(x - 1)', infinite), DataError, "'log(x - 1)' has an infinite value at row 1 of 'inf.csv'");
  assertError(() => modelFrame('~ x', tiny), ModelError, /has no response/);
});

test('model errors: grouping factor levels, single-level factors', () => {
  const data = toTable({ y: [1, 2, 3, 4], x: [1, 2, 3, 5], one: ['a', 'a', 'a', 'a'], id: ['p', 'q', 'r', 's'], two: ['a', 'a', 'b', 'b'] });
  assertError(() => modelFrame('y ~ x + (1 | one)', data), ModelError, 'grouping factors must have > 1 sampled level (problems: one)');
  assertError(
    () => modelFrame('y ~ x + (1 | id) + (1 | two)', data),
    ModelError,
    'number of levels of each grouping factor must be < number of observations (problems: id)',
  );
  assertError(() => modelFrame('y ~ one', data), ModelError, /contrasts can be applied only to factors with 2 or more levels: 'one' has only the level 'a'/);
});

test('rank deficiency: dependent columns dropped with lme4 messages', () => {
  const data = toTable({ y: [1, 3, 2, 5, 4], x: [1, 2, 3, 4, 5], x2: [2, 4, 6, 8, 10], z: [1, 0, 1, 0, 2], z3: [3, 0, 3, 0, 6] });
  const one = modelFrame('y ~ x + x2 + z', data);
  assert.deepEqual(one.xNames, ['(Intercept)', 'x', 'z']);
  assert.deepEqual(Array.from(one.assign), [-1, 0, 2]);
  assert.deepEqual(one.droppedColumns, ['x2']);
  assert.deepEqual(one.warnings, ['fixed-effect model matrix is rank deficient so dropping 1 column / coefficient']);
  assert.deepEqual(xRow(one, 4), [1, 5, 2]);
  assert.deepEqual(one.termLabels, ['x', 'x2', 'z']);
  const two = modelFrame('y ~ x + x2 + z + z3', data);
  assert.deepEqual(two.droppedColumns, ['x2', 'z3']);
  assert.deepEqual(two.warnings, ['fixed-effect model matrix is rank deficient so dropping 2 columns / coefficients']);
});

test('responseOptional: one-sided formulas and responses that are not columns', () => {
  const oneSided = modelFrame('~ x + (1 | g)', tiny, { responseOptional: true });
  assert.equal(oneSided.response, undefined);
  assert.equal(oneSided.y, undefined);
  assert.deepEqual(oneSided.xNames, ['(Intercept)', 'x']);
  const image = modelFrame('voxel ~ x + (1 | g)', tiny, { responseOptional: true });
  assert.equal(image.response, 'voxel');
  assert.equal(image.y, undefined);
  assert.equal(image.n, 8);
  assertError(() => modelFrame('voxel ~ x', tiny), DataError, /unknown column 'voxel'/);
});

test('design.matrix rebuilds X for new data with the fitted coding', () => {
  const fit = modelFrame('y ~ x*f', tiny);
  const fresh = toTable({ x: [10, 20, 30, null], f: ['C', 'A', 'B', 'A'] });
  const X = fit.design.matrix(fresh);
  const n = 4;
  const row = (i: number) => fit.xNames.map((_, j) => X[j * n + i]);
  assert.deepEqual(row(0), [1, 10, 0, 1, 0, 10]);
  assert.deepEqual(row(1), [1, 20, 0, 0, 0, 0]);
  assert.deepEqual(row(2), [1, 30, 1, 0, 30, 0]);
  assert.ok(row(3).every(Number.isNaN));
  assertError(() => fit.design.matrix(toTable({ x: [1], f: ['D'] })), DataError, /column 'f' has the level 'D' at row 1, which the model was not fitted with/);
  // dropped columns stay dropped
  const deficient = modelFrame('y ~ f:g', tiny);
  const Xd = deficient.design.matrix(toTable({ f: ['C'], g: ['Y'] }));
  assert.deepEqual(Array.from(Xd), [1, 0, 0, 0, 0, 0]);
});

test('boolean columns code like R logicals: FALSE is the baseline', () => {
  const mf = modelFrame('y ~ flag', toTable({ y: [1, 2, 3], flag: [true, false, true] }));
  assert.deepEqual(mf.xNames, ['(Intercept)', 'flagTRUE']);
  assert.deepEqual(Array.from(mf.X.subarray(3)), [1, 0, 1]);
});

test('frames agree with lme4 1.1-31 on the extra reference fits: columns, rows, groups, level order', () => {
  const fits = JSON.parse(readFileSync(join(fixtures, 'extra-fits.json'), 'utf8')) as Record<
    string,
    { data: string; formula: string; nobs: number; fixef: Record<string, number>; varcorr: { grp: string }[]; ranef?: Record<string, { level: string }[]> }
  >;
  assert.ok(Object.keys(fits).length >= 17);
  for (const [name, fit] of Object.entries(fits)) {
    const mf = modelFrame(fit.formula, fixture(`${fit.data}.csv`));
    assert.deepEqual(mf.xNames, Object.keys(fit.fixef), name);
    assert.equal(mf.n, fit.nobs, name);
    // VarCorr names repeated grouping factors with R's make.unique: Subject, Subject.1
    const seen = new Map<string, number>();
    const unique = mf.reTerms.map((t) => {
      const k = seen.get(t.group) ?? 0;
      seen.set(t.group, k + 1);
      return k === 0 ? t.group : `${t.group}.${k}`;
    });
    const lme4Groups = fit.varcorr.map((v) => v.grp).filter((g) => g !== 'Residual');
    assert.deepEqual([...new Set(unique)], [...new Set(lme4Groups)], name);
    for (const term of mf.reTerms) {
      const ranef = fit.ranef?.[term.group];
      if (ranef)
        assert.deepEqual(
          term.factor.levels,
          ranef.map((r) => r.level),
          `${name}: levels of ${term.group}`,
        );
    }
  }
});
