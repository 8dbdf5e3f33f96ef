/**
 * Formula expansion: R's terms.formula for the fixed part (crossing, nesting, powers, removal,
 * term order, the contrasts-or-indicators pattern) and lme4's findbars/expandDoubleVerts/expandSlash
 * for the random part. Works on the parse tree only; which variables are factors is decided later.
 */
import { FormulaError } from '../errors';
import { deparse } from './deparse';
import { parseFormula, type Expr, type Formula } from './parse';

/** The terms of one model formula's right-hand side, like R's terms() object. */
export interface TermSpec {
  /** variables (names or calls such as I(day^2)) in order of first appearance */
  readonly variables: Expr[];
  /** deparsed variables: "Days", "I(day^2)", "`a b`" */
  readonly variableLabels: string[];
  /** each term as ascending indices into `variables`, in R's order (by interaction order, then appearance) */
  readonly terms: number[][];
  /** term labels as R prints them: "Days", "age:Sex" */
  readonly labels: string[];
  readonly intercept: boolean;
  /**
   * R's factor pattern: coding[t][k] is 1 when variable terms[t][k] is coded by contrasts in term t
   * (the term without it is empty or contained in a preceding term), 2 when coded by indicators.
   */
  readonly coding: (1 | 2)[][];
}

/** One random-effects term `(lhs | group)` after expanding `||` and `/`. */
export interface RandomSpec {
  /** terms of the left-hand side, as the formula `~ lhs` */
  readonly lhs: TermSpec;
  /** the grouping factor's name as lme4 prints it: "Subject", "Dog:Side", "Variety:Block" */
  readonly group: string;
  /** the variables whose interaction is the grouping factor, the first varying slowest */
  readonly groupVariables: Expr[];
}

export interface ExpandedFormula {
  readonly formula: Formula;
  /** the response expression; undefined for a one-sided formula */
  readonly response?: Expr;
  /** fixed-effects terms: the formula without its random-effects terms (lme4's nobars) */
  readonly fixed: TermSpec;
  readonly random: RandomSpec[];
}

type Term = number[];

const termKey = (t: Term): string => t.join(',');

function union(a: Term, b: Term): Term {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

/** R's TrimRepeats: drop empty and repeated terms, keeping first appearances. */
function trimRepeats(terms: Term[]): Term[] {
  const seen = new Set<string>();
  return terms.filter((t) => {
    const key = termKey(t);
    if (t.length === 0 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function interact(left: Term[], right: Term[]): Term[] {
  return trimRepeats(left.flatMap((l) => right.map((r) => union(l, r))));
}

function unwrapParens(e: Expr): Expr {
  while (e.type === 'paren') e = e.inner;
  return e;
}

const isBar = (e: Expr): boolean => e.type === 'binary' && (e.op === '|' || e.op === '||');

/** Throws at the first `|` inside e: bars belong only to parenthesised random-effects terms. */
function rejectBars(e: Expr, text: string): void {
  if (isBar(e)) throw new FormulaError(text, e.pos, "'|' can only separate a random-effects term from its grouping factor, as in (1 | g)");
  if (e.type === 'call') e.args.forEach((a) => rejectBars(a, text));
  if (e.type === 'paren') rejectBars(e.inner, text);
  if (e.type === 'unary') rejectBars(e.arg, text);
  if (e.type === 'binary') {
    rejectBars(e.left, text);
    rejectBars(e.right, text);
  }
}

/** R's EncodeVars: encodes one right-hand side into terms, installing variables as they appear. */
class TermEncoder {
  private readonly variables: Expr[] = [];
  private readonly labels: string[] = [];
  private readonly index = new Map<string, number>();
  private intercept = true;
  /** false while encoding the right side of a `-` (so `- 1` removes the intercept) */
  private adding = true;

  constructor(private readonly text: string) {}

  private fail(e: Expr, problem: string): never {
    throw new FormulaError(this.text, e.pos, problem);
  }

  private install(e: Expr): number {
    rejectBars(e, this.text);
    const label = deparse(e);
    let i = this.index.get(label);
    if (i === undefined) {
      i = this.variables.length;
      this.variables.push(e);
      this.labels.push(label);
      this.index.set(label, i);
    }
    return i;
  }

  /** `topLevelSum`: whether e is reached from the root through `+` only, the one place random terms may sit */
  encode(e: Expr, topLevelSum = false): Term[] {
    switch (e.type) {
      case 'number':
        if (e.value !== 0 && e.value !== 1) this.fail(e, `the number ${e.value} is not a term (only 0 or 1, for the intercept)`);
        this.intercept = (e.value === 1) === this.adding;
        return [];
      case 'name':
      case 'call':
        return [[this.install(e)]];
      case 'paren':
        if (isBar(unwrapParens(e.inner))) {
          if (!topLevelSum) this.fail(e, 'a random-effects term can only be added to the formula with +');
          return []; // lme4's nobars: random terms are not fixed terms
        }
        return this.encode(e.inner);
      case 'unary':
        if (e.op === '+') return this.encode(e.arg);
        this.subtract(e.arg);
        return [];
      case 'binary':
        switch (e.op) {
          case '+':
            return trimRepeats([...this.encode(e.left, topLevelSum), ...this.encode(e.right, topLevelSum)]);
          case '-': {
            const kept = this.encode(e.left, topLevelSum);
            const removed = new Set(this.subtract(e.right).map(termKey));
            return kept.filter((t) => !removed.has(termKey(t)));
          }
          case ':':
            return interact(this.encode(e.left), this.encode(e.right));
          case '*': {
            const left = this.encode(e.left);
            const right = this.encode(e.right);
            return trimRepeats([...left, ...right, ...interact(left, right)]);
          }
          case '/': {
            // R's NestTerms: a/b = a + (all variables of a):b
            const left = this.encode(e.left);
            const right = this.encode(e.right);
            const outer = left.reduce(union, []);
            return trimRepeats([...left, ...right.map((r) => union(outer, r))]);
          }
          case '^':
            return this.power(e.left, e.right);
          default:
            return this.fail(e, 'a random-effects term must be in parentheses, as in (1 | g)');
        }
    }
  }

  private subtract(e: Expr): Term[] {
    this.adding = !this.adding;
    const removed = this.encode(e);
    this.adding = !this.adding;
    return removed;
  }

  /** R's PowerTerms: (a+b+c)^2 = all interactions up to order 2. */
  private power(base: Expr, exponentExpr: Expr): Term[] {
    const exponent = unwrapParens(exponentExpr);
    if (exponent.type !== 'number' || !Number.isInteger(exponent.value) || exponent.value < 2) {
      this.fail(exponentExpr, 'invalid power in formula: the exponent must be a whole number of at least 2');
    }
    const left = this.encode(base);
    let result = left;
    for (let i = 1; i < exponent.value; i++) result = interact(left, result);
    return result;
  }

  /** Orders terms like R (stable by interaction order) and derives labels and the factor pattern. */
  finish(encoded: Term[]): TermSpec {
    const terms = [...encoded].sort((a, b) => a.length - b.length);
    return makeTermSpec(this.variables, this.labels, terms, this.intercept);
  }
}

/** R's TermCode for every variable of every term (terms already in R's order). */
function factorPattern(terms: Term[]): (1 | 2)[][] {
  return terms.map((term, t) =>
    term.map((v) => {
      const rest = term.filter((w) => w !== v);
      if (rest.length === 0) return 1;
      const inEarlier = terms.slice(0, t).some((earlier) => rest.every((w) => earlier.includes(w)));
      return inEarlier ? 1 : 2;
    }),
  );
}

function makeTermSpec(variables: Expr[], variableLabels: string[], terms: Term[], intercept: boolean): TermSpec {
  const labels = terms.map((t) => t.map((v) => variableLabels[v]).join(':'));
  return { variables, variableLabels, terms, labels, intercept, coding: factorPattern(terms) };
}

/** The terms of one right-hand side, as R's terms(~ rhs). */
function encodeTerms(rhs: Expr, text: string, allowRandom: boolean): TermSpec {
  const encoder = new TermEncoder(text);
  return encoder.finish(encoder.encode(rhs, allowRandom));
}

/** The formula `~ 0 + term` for one term of `spec`, with only that term's variables (lme4 reparses term labels). */
function singleTermSpec(spec: TermSpec, t: number): TermSpec {
  const used = spec.terms[t];
  return makeTermSpec(
    used.map((v) => spec.variables[v]),
    used.map((v) => spec.variableLabels[v]),
    [used.map((_, k) => k)],
    false,
  );
}

/** The `(lhs | group)` nodes of a right-hand side, left to right along its top-level sum (`y ~ x + (1 | g) - 1` too). */
function collectBars(e: Expr, out: Extract<Expr, { type: 'binary' }>[] = []): Extract<Expr, { type: 'binary' }>[] {
  if (e.type === 'binary' && (e.op === '+' || e.op === '-')) {
    collectBars(e.left, out);
    if (e.op === '+') collectBars(e.right, out);
  } else if (e.type === 'paren') {
    const inner = unwrapParens(e.inner);
    if (inner.type === 'binary' && isBar(inner)) out.push(inner);
  }
  return out;
}

/** lme4's expandSlash for a grouping expression: a/b/c -> c:(b:a), b:a, a (innermost first). */
function slashGroups(group: Expr, text: string): Expr[] {
  const parts: Expr[] = [];
  const flatten = (e: Expr): void => {
    const inner = unwrapParens(e);
    if (inner.type === 'binary' && inner.op === '/') {
      flatten(inner.left);
      flatten(inner.right);
    } else parts.push(inner);
  };
  flatten(group);
  const groups: Expr[] = [];
  for (let k = parts.length; k >= 1; k--) {
    let nested = parts[0];
    for (let i = 1; i < k; i++) nested = { type: 'binary', op: ':', left: parts[i], right: nested, pos: parts[i].pos };
    groups.push(nested);
  }
  for (const g of groups) groupVariables(g, text); // validates
  return groups;
}

/** The variables of an interaction a:b:c in order (the first varies slowest in the grouping factor). */
function groupVariables(group: Expr, text: string): Expr[] {
  const e = unwrapParens(group);
  if (e.type === 'binary' && e.op === ':') return [...groupVariables(e.left, text), ...groupVariables(e.right, text)];
  if (e.type === 'name') return [e];
  throw new FormulaError(text, e.pos, 'a grouping factor must be a variable or an interaction such as a:b or a/b');
}

function expandRandom(bar: Extract<Expr, { type: 'binary' }>, text: string): RandomSpec[] {
  const lhs = encodeTerms(bar.left, text, false);
  // lme4's expandDoubleVerts: (x + z || g) = (1 | g) + (0 + x | g) + (0 + z | g)
  const lhsParts = bar.op === '||' ? [...(lhs.intercept ? [makeTermSpec([], [], [], true)] : []), ...lhs.terms.map((_, t) => singleTermSpec(lhs, t))] : [lhs];
  const groups = slashGroups(bar.right, text);
  return lhsParts.flatMap((part) => groups.map((g) => ({ lhs: part, group: deparse(g), groupVariables: groupVariables(g, text) })));
}

/** Expands a formula (text or parsed) into its fixed terms and random-effects terms, as R and lme4 do. */
export function expandFormula(formula: string | Formula): ExpandedFormula {
  const parsed = typeof formula === 'string' ? parseFormula(formula) : formula;
  const text = parsed.text;
  if (parsed.lhs) rejectBars(parsed.lhs, text);
  const fixed = encodeTerms(parsed.rhs, text, true);
  const random = collectBars(parsed.rhs).flatMap((bar) => expandRandom(bar, text));
  return { formula: parsed, response: parsed.lhs, fixed, random };
}

/** R's terms() of a one-sided right-hand side given as text, e.g. termsOf("a*b") (no random terms allowed). */
export function termsOf(rhs: string): TermSpec {
  const parsed = parseFormula(`~ ${rhs}`);
  return encodeTerms(parsed.rhs, parsed.text, false);
}
