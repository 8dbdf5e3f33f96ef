import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormulaError } from '../src/errors';
import { deparse, expandFormula, formatNumber, parseFormula, termsOf } from '../src/formula';

const rhsText = (formula: string): string => deparse(parseFormula(formula).rhs);

test('parser groups operators with R precedence', () => {
  const f = parseFormula('log(y) ~ a + b:c*d - 1');
  assert.equal(deparse(f.lhs!), 'log(y)');
  // ((a + ((b:c) * d)) - 1): * binds tighter than +, : tighter than *
  const rhs = f.rhs;
  assert.equal(rhs.type === 'binary' && rhs.op, '-');
  const sum = rhs.type === 'binary' ? rhs.left : rhs;
  assert.equal(sum.type === 'binary' && sum.op, '+');
  const product = sum.type === 'binary' ? sum.right : sum;
  assert.equal(product.type === 'binary' && product.op, '*');
  assert.equal(product.type === 'binary' && deparse(product.left), 'b:c');
  // unary minus binds tighter than ':' but looser than '^'
  const neg = parseFormula('~ -a^2').rhs;
  assert.equal(neg.type === 'unary' && neg.arg.type === 'binary' && neg.arg.op, '^');
  // the bar binds loosest inside parentheses
  const bar = parseFormula('y ~ (1 + Days | Subject)').rhs;
  assert.equal(bar.type === 'paren' && bar.inner.type === 'binary' && bar.inner.op, '|');
  assert.equal(parseFormula('~ x').lhs, undefined);
});

test('deparse prints calls as R does: spaces around + - *, none around / ^ :', () => {
  assert.equal(rhsText('y ~ I(day^2)'), 'I(day^2)');
  assert.equal(rhsText('y ~ I(day*2)'), 'I(day * 2)');
  assert.equal(rhsText('y ~ I(x-1)'), 'I(x - 1)');
  assert.equal(rhsText('y ~ I(x/2)'), 'I(x/2)');
  assert.equal(rhsText('y ~ I((x+1)^2)'), 'I((x + 1)^2)');
  assert.equal(rhsText('y ~ I(2^-1)'), 'I(2^-1)');
  assert.equal(rhsText('y ~ I(-x^2)'), 'I(-x^2)');
  assert.equal(rhsText('y ~ log(x,   10)'), 'log(x, 10)');
  assert.equal(rhsText('y ~ I(x ** 2)'), 'I(x^2)');
  assert.equal(rhsText('y ~ `a b` + x.1'), '`a b` + x.1');
  assert.equal(rhsText('y~(1|g)'), '(1 | g)');
});

test('numbers print like R: 15 significant digits, scientific only when shorter', () => {
  assert.equal(formatNumber(100000), '1e+05');
  assert.equal(formatNumber(123456), '123456');
  assert.equal(formatNumber(0.0001), '1e-04');
  assert.equal(formatNumber(0.1), '0.1');
  assert.equal(formatNumber(1 / 3), '0.333333333333333');
  assert.equal(formatNumber(-2.5), '-2.5');
  assert.equal(formatNumber(1e15), '1e+15');
  assert.equal(formatNumber(1234567), '1234567');
  assert.equal(formatNumber(0.1 + 0.2), '0.3');
  assert.equal(rhsText('y ~ I(x * 2.50) + I(x + 1e3)'), 'I(x * 2.5) + I(x + 1000)');
});

test('fixed terms expand and order as R terms.formula', () => {
  const labels = (rhs: string): string[] => termsOf(rhs).labels;
  assert.deepEqual(labels('a*b + c'), ['a', 'b', 'c', 'a:b']);
  assert.deepEqual(labels('(a+b+c)^2'), ['a', 'b', 'c', 'a:b', 'a:c', 'b:c']);
  assert.deepEqual(labels('a*b*c - a:b:c'), ['a', 'b', 'c', 'a:b', 'a:c', 'b:c']);
  assert.deepEqual(labels('a/b'), ['a', 'a:b']);
  assert.deepEqual(labels('(a + b)/c'), ['a', 'b', 'a:b:c']);
  assert.deepEqual(labels('(a + b) * c'), ['a', 'b', 'c', 'a:c', 'b:c']);
  assert.deepEqual(labels('a*b - a'), ['b', 'a:b']);
  assert.deepEqual(labels('a + a + b:a + a:b'), ['a', 'a:b']);
  // inside an interaction, variables follow their first appearance in the formula
  assert.deepEqual(labels('b:a + a'), ['a', 'b:a']);
  assert.deepEqual(labels('x + I(x^2) + log(x):f'), ['x', 'I(x^2)', 'log(x):f']);
  assert.deepEqual(expandFormula('y ~ age*Sex + (1|id)').fixed.labels, ['age', 'Sex', 'age:Sex']);
});

test('intercept: 0, -1, +0, 1 and their order', () => {
  const intercept = (rhs: string): boolean => termsOf(rhs).intercept;
  assert.equal(intercept('x'), true);
  assert.equal(intercept('0 + x'), false);
  assert.equal(intercept('x + 0'), false);
  assert.equal(intercept('x - 1'), false);
  assert.equal(intercept('-1 + x'), false);
  assert.equal(intercept('1 + x'), true);
  assert.equal(intercept('0 + x + 1'), true);
  assert.deepEqual(termsOf('-1 + x').labels, ['x']);
  const onlyRandom = expandFormula('y ~ (1 | g)');
  assert.deepEqual(onlyRandom.fixed.labels, []);
  assert.equal(onlyRandom.fixed.intercept, true);
  const noIntercept = expandFormula('y ~ x + (1 | g) - 1');
  assert.equal(noIntercept.fixed.intercept, false);
  assert.deepEqual(noIntercept.fixed.labels, ['x']);
  assert.equal(noIntercept.random.length, 1);
});

test('factor pattern: contrasts when the term without the variable came before', () => {
  // a/b = a + a:b: in a:b, a is coded by indicators (b alone is absent), b by contrasts (a is present)
  assert.deepEqual(termsOf('a/b').coding, [[1], [2, 1]]);
  assert.deepEqual(termsOf('a:b').coding, [[2, 2]]);
  assert.deepEqual(termsOf('a*b').coding, [[1], [1], [1, 1]]);
  // R marks x by 2 in x:f as well (f alone is absent); for a numeric variable the code changes nothing
  assert.deepEqual(termsOf('x + x:f').coding, [[1], [2, 1]]);
  // a:c follows a:b, which contains the remainder a: c by contrasts, a by indicators
  assert.deepEqual(termsOf('a:b + a:c').coding, [
    [2, 2],
    [2, 1],
  ]);
});

test('random terms: bars, double bars and nesting as lme4 expands them', () => {
  const summary = (formula: string) =>
    expandFormula(formula).random.map((r) => `${r.lhs.intercept ? '1' : '0'}${r.lhs.labels.map((l) => `+${l}`).join('')}|${r.group}`);
  assert.deepEqual(summary('Reaction ~ Days + (Days | Subject)'), ['1+Days|Subject']);
  assert.deepEqual(summary('Reaction ~ Days + (1 + Days || Subject)'), ['1|Subject', '0+Days|Subject']);
  assert.deepEqual(summary('y ~ (x + I(x^2) || g)'), ['1|g', '0+x|g', '0+I(x^2)|g']);
  assert.deepEqual(summary('y ~ (0 + x || g)'), ['0+x|g']);
  // one term per term label, not per column: a factor stays whole
  assert.deepEqual(summary('score ~ (Machine || Worker)'), ['1|Worker', '0+Machine|Worker']);
  assert.deepEqual(summary('y ~ 1 + (1 | Block/Variety)'), ['1|Variety:Block', '1|Block']);
  assert.deepEqual(summary('y ~ (1 | a/b/c)'), ['1|c:(b:a)', '1|b:a', '1|a']);
  assert.deepEqual(summary('y ~ (x || a/b)'), ['1|b:a', '1|a', '0+x|b:a', '0+x|a']);
  assert.deepEqual(summary('pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)'), ['1+day|Dog', '1|Dog:Side']);
  const nested = expandFormula('y ~ (1 | Block/Variety)').random[0];
  assert.deepEqual(nested.groupVariables.map(deparse), ['Variety', 'Block']);
  // the || pieces carry only their own variables
  const split = expandFormula('y ~ (x + z || g)').random;
  assert.deepEqual(split[2].lhs.variableLabels, ['z']);
  assert.deepEqual(split[2].lhs.terms, [[0]]);
});

/** Asserts that `formula` fails with a FormulaError at `position` whose message contains `problem`. */
function assertSyntaxError(formula: string, position: number, problem: RegExp): void {
  assert.throws(
    () => expandFormula(formula),
    (err: unknown) => {
      assert.ok(err instanceof FormulaError, `expected FormulaError for ${formula}, got ${String(err)}`);
      assert.equal(err.position, position, `position for ${formula}: ${err.message}`);
      assert.match(err.message, problem);
      return true;
    },
  );
}

test('syntax errors point at the right character', () => {
  assert.throws(
    () => parseFormula('Reaction ~ Days + )'),
    (err: unknown) =>
      err instanceof FormulaError && err.message === "formula syntax error: unexpected ')' at position 19\n  Reaction ~ Days + )\n                    ^",
  );
  assertSyntaxError('Reaction ~ Days + )', 18, /unexpected '\)'/);
  assertSyntaxError('y ~ (a + b', 4, /never closed/);
  assertSyntaxError('y ~ log(a + b', 7, /never closed/);
  assertSyntaxError('Reaction ~ Days +', 17, /formula ends/);
  assertSyntaxError('y ~ a $ b', 6, /unexpected character '\$'/);
  assertSyntaxError('', 0, /empty formula/);
  assertSyntaxError('y x', 2, /unexpected 'x'/);
  assertSyntaxError('y + x', 5, /expected '~'/);
  assertSyntaxError('y ~ a + `b', 8, /unterminated backquoted name/);
  assertSyntaxError('y ~ a ~ b', 6, /unexpected '~'/);
  assertSyntaxError('y ~ (a + b)^1', 12, /invalid power/);
  assertSyntaxError('y ~ 2 + x', 4, /number 2 is not a term/);
  assertSyntaxError('y ~ x + 1 | g', 10, /must be in parentheses/);
  assertSyntaxError('y ~ x:(1 | g)', 6, /can only be added/);
  assertSyntaxError('y ~ log(1 | g)', 10, /'\|' can only separate/);
  assertSyntaxError('y ~ (1 | g + h)', 11, /grouping factor must be a variable/);
});

test('deep nesting is a FormulaError naming the nesting depth limit, not a stack overflow', () => {
  const nested = (n: number) => `y ~ ${'('.repeat(n)}x${')'.repeat(n)}`;
  assert.throws(
    () => parseFormula(nested(10000)),
    (e: unknown) => e instanceof FormulaError && /nesting depth limit is 500/.test(e.message) && e.position === 4 + 500,
  );
  assert.throws(() => parseFormula(`y ~ ${'log('.repeat(10000)}x${')'.repeat(10000)}`), /nesting depth limit is 500/);
  assert.throws(() => parseFormula(`y ~ ${'-'.repeat(10000)}x`), /nesting depth limit is 500/);
  assert.throws(() => expandFormula(`y ~ ${Array(20000).fill('x').join(' + ')}`), /nesting depth limit is 2000/);
  // just under the limits, the formula parses and expands
  assert.equal(deparse(parseFormula(nested(499)).rhs), nested(499).slice(4));
  assert.deepEqual(expandFormula(`y ~ ${Array(1999).fill('x').join(' + ')}`).fixed.labels, ['x']);
});
