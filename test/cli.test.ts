/**
 * The `neurolmm` command as a user meets it: the fit summary and JSON, and bad input answered by
 * one clear line (no stack trace) and a non-zero exit code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixture, lme4References, relativeError, repoRoot } from './helpers';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** a user error: exit 1, one message on stderr, no stack frames */
function assertUserError(r: ReturnType<typeof run>, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
}

test('fit prints the lmerTest summary', () => {
  const r = run('fit', '--data', fixture('sleepstudy.csv'), '--formula', 'Reaction ~ Days + (Days | Subject)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Linear mixed model fit by REML\. t-tests use Satterthwaite's method/);
  assert.match(r.stdout, /   Data: sleepstudy\n/);
  assert.match(r.stdout, /\(Intercept\)  251\.405      6\.825  17\.000  36\.838  < 2e-16 \*\*\*/);
});

test('fit --json has the layout and numbers of the lme4 reference (with lmerTest df and p)', () => {
  const ref = lme4References().machines_nested;
  const r = run('fit', '--data', fixture('Machines.csv'), '--formula', ref.formula, '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const key of ['formula', 'REML', 'nobs', 'fixef', 'coefficients', 'varcorr', 'sigma', 'logLik', 'REMLcrit', 'AIC', 'BIC', 'theta', 'singular', 'ranef'])
    assert.ok(key in out, `missing ${key}`);
  assert.deepEqual(out.coefficients.term, ref.coefficients.term);
  out.coefficients.estimate.forEach((b: number, i: number) => assert.ok(relativeError(b, ref.coefficients.estimate[i]) < 1e-6));
  out.coefficients.df.forEach((df: number, i: number) => assert.ok(relativeError(df, ref.coefficients.df[i]) < 1e-3));
  out.coefficients.p.forEach((p: number, i: number) =>
    assert.ok(relativeError(p, ref.coefficients.p[i]) < 1e-3 || Math.abs(p - ref.coefficients.p[i]) < 1e-12),
  );
  assert.deepEqual(
    out.varcorr.map((v: { grp: string; var1: string | null; var2: string | null }) => [v.grp, v.var1, v.var2]),
    ref.varcorr.map((v) => [v.grp, v.var1, v.var2]),
  );
  assert.deepEqual(Object.keys(out.ranef).sort(), ['Worker', 'Worker:Machine']);
  assert.ok(Math.abs(out.REMLcrit - (ref.REMLcrit as number)) < 1e-6);
});

test('fit --ml reports the deviance; a formula without random effects fits lm()', () => {
  const ml = JSON.parse(run('fit', '--data', fixture('sleepstudy.csv'), '--formula', 'Reaction ~ Days + (Days | Subject)', '--ml', '--json').stdout);
  assert.equal(ml.REML, false);
  assert.ok(Math.abs(ml.deviance - (lme4References().sleepstudy_full_ml.deviance as number)) < 1e-6);
  const ols = run('fit', '--data', fixture('sleepstudy.csv'), '--formula', 'Reaction ~ Days');
  assert.equal(ols.status, 0, ols.stderr);
  assert.match(ols.stdout, /Residual standard error: 47\.71 on 178 degrees of freedom/);
});

test('bad input: one clear message naming the problem, exit code 1, no stack trace', () => {
  const sleep = fixture('sleepstudy.csv');
  assertUserError(run('fit', '--data', sleep, '--formula', 'Reaction ~ Days + (Days | Subject'), /formula syntax error.*\n.*\n\s*\^/);
  assertUserError(run('fit', '--data', sleep, '--formula', 'Reaction ~ Dayz + (1 | Subject)'), /unknown column 'Dayz'/);
  assertUserError(run('fit', '--data', sleep, '--formula', 'Subject ~ Days + (1 | Subject)'), /Subject/);
  assertUserError(run('fit', '--data', path.join(os.tmpdir(), 'no-such-file.csv'), '--formula', 'y ~ 1'), /no-such-file\.csv/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-cli-'));
  const oneLevel = path.join(dir, 'one-level.csv');
  fs.writeFileSync(oneLevel, 'y,g\n1,"a"\n2,"a"\n3,"a"\n');
  assertUserError(run('fit', '--data', oneLevel, '--formula', 'y ~ 1 + (1 | g)'), /grouping factor|levels/);
  const infinite = path.join(dir, 'inf.csv');
  fs.writeFileSync(infinite, 'y,x,g\n1,1,"a"\n2,Inf,"b"\n3,2,"a"\n4,3,"b"\n');
  assertUserError(run('fit', '--data', infinite, '--formula', 'y ~ x + (1 | g)'), /infinite value at row 2/);
  fs.rmSync(dir, { recursive: true });
});

test('usage errors print the usage and exit 2', () => {
  const r = run('fit', '--data', fixture('sleepstudy.csv'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing --formula/);
  assert.match(r.stderr, /neurolmm fit --data/);
  const unknown = run('frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
