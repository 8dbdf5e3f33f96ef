/**
 * Tokenizer and recursive-descent parser for R model formulas (with lme4's random-effects bars).
 * Operator precedence follows R's ?Syntax, so formulas group exactly as R groups them:
 *   ^ (right)  >  unary - +  >  :  >  * /  >  binary + -  >  | ||  >  ~
 */
import { FormulaError } from '../errors';

export type BinaryOp = '+' | '-' | '*' | '/' | ':' | '^' | '|' | '||';

/** A formula expression node; `pos` is the 0-based offset of the node's first character (of the operator for binary nodes). */
export type Expr =
  | { type: 'number'; value: number; pos: number }
  | { type: 'name'; name: string; pos: number }
  | { type: 'call'; fn: string; args: Expr[]; pos: number }
  | { type: 'paren'; inner: Expr; pos: number }
  | { type: 'unary'; op: '+' | '-'; arg: Expr; pos: number }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: number };

export interface Formula {
  readonly text: string;
  /** left-hand side (the response); undefined for a one-sided formula `~ x` */
  readonly lhs?: Expr;
  readonly rhs: Expr;
}

type Token =
  | { kind: 'number'; value: number; text: string; pos: number }
  | { kind: 'name'; name: string; text: string; pos: number }
  | { kind: 'op'; text: BinaryOp | '~'; pos: number }
  | { kind: '(' | ')' | ','; text: string; pos: number }
  | { kind: 'end'; text: string; pos: number };

/**
 * Nesting limits. The parser recurses into parentheses, calls, signs and powers (the nesting
 * depth), and the expansion into terms recurses over the whole tree, where each operator of a chain
 * such as `a + b + c` adds a level (the expression depth). Bounds keep a pasted or generated
 * formula from exhausting the stack; real formulas stay far below them.
 */
export const MAX_FORMULA_NESTING = 500;
export const MAX_FORMULA_DEPTH = 2000;

const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[\p{L}.][\p{L}\p{N}._]*/uy;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = /[\d.]/.test(c) ? NUMBER.exec(text) : null;
    if (num && !(c === '.' && !/\d/.test(text[i + 1] ?? ''))) {
      tokens.push({ kind: 'number', value: Number(num[0]), text: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(text);
    if (name) {
      tokens.push({ kind: 'name', name: name[0], text: name[0], pos: i });
      i += name[0].length;
      continue;
    }
    if (c === '`') {
      const close = text.indexOf('`', i + 1);
      if (close < 0) throw new FormulaError(text, i, 'unterminated backquoted name');
      if (close === i + 1) throw new FormulaError(text, i, 'empty backquoted name');
      tokens.push({ kind: 'name', name: text.slice(i + 1, close), text: text.slice(i, close + 1), pos: i });
      i = close + 1;
      continue;
    }
    if (text.startsWith('||', i)) {
      tokens.push({ kind: 'op', text: '||', pos: i });
      i += 2;
      continue;
    }
    if (text.startsWith('**', i)) {
      tokens.push({ kind: 'op', text: '^', pos: i }); // R reads ** as ^
      i += 2;
      continue;
    }
    if ('~+-*/:^|'.includes(c)) {
      tokens.push({ kind: 'op', text: c as BinaryOp | '~', pos: i });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c, pos: i });
      i++;
      continue;
    }
    throw new FormulaError(text, i, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'end', text: '', pos: text.length });
  return tokens;
}

/** Parses an R formula such as `Reaction ~ Days + (Days | Subject)`; throws FormulaError with the offending position. */
export function parseFormula(text: string): Formula {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at];
  const isOp = (...ops: string[]): boolean => peek().kind === 'op' && ops.includes(peek().text);
  const fail = (token: Token, problem: string): never => {
    throw new FormulaError(text, token.pos, problem);
  };
  const unexpected = (token: Token): never =>
    token.kind === 'end' ? fail(token, 'expected a term but the formula ends') : fail(token, `unexpected '${token.text}'`);
  const tooDeep = (token: Token, what: string, limit: number): never =>
    fail(token, `the formula nests deeper than ${limit} levels (${what}; the nesting depth limit is ${limit})`);

  // Depth of each built node, and of the recursive descent that has not built its node yet.
  const depths = new WeakMap<Expr, number>();
  let descent = 0;
  const descend = <T>(token: Token, parse: () => T): T => {
    if (++descent > MAX_FORMULA_NESTING) tooDeep(token, 'parentheses, calls, signs or powers', MAX_FORMULA_NESTING);
    const result = parse();
    descent--;
    return result;
  };
  const node = <E extends Expr>(token: Token, e: E, ...children: Expr[]): E => {
    const depth = 1 + children.reduce((d, c) => Math.max(d, depths.get(c) ?? 1), 0);
    if (depth > MAX_FORMULA_DEPTH) tooDeep(token, 'operators chained or nested', MAX_FORMULA_DEPTH);
    depths.set(e, depth);
    return e;
  };

  function binaryLevel(ops: BinaryOp[], operand: () => Expr): () => Expr {
    return () => {
      let left = operand();
      while (isOp(...ops)) {
        const op = tokens[at++];
        const right = operand();
        left = node(op, { type: 'binary', op: op.text as BinaryOp, left, right, pos: op.pos }, left, right);
      }
      return left;
    };
  }

  const parseColon = binaryLevel([':'], parseUnary);
  const parseProduct = binaryLevel(['*', '/'], parseColon);
  const parseSum = binaryLevel(['+', '-'], parseProduct);
  const parseBar = binaryLevel(['|', '||'], parseSum);

  function parseUnary(): Expr {
    if (isOp('+', '-')) {
      const op = tokens[at++];
      const arg = descend(op, parseUnary);
      return node(op, { type: 'unary', op: op.text as '+' | '-', arg, pos: op.pos }, arg);
    }
    return parsePower();
  }

  function parsePower(): Expr {
    const base = parsePrimary();
    if (!isOp('^')) return base;
    const op = tokens[at++];
    const right = descend(op, parseExponent);
    return node(op, { type: 'binary', op: '^', left: base, right, pos: op.pos }, base, right);
  }

  // R allows a signed exponent (2^-1) and ^ associates to the right (2^3^2 = 2^9)
  function parseExponent(): Expr {
    if (isOp('+', '-')) {
      const op = tokens[at++];
      const arg = descend(op, parseExponent);
      return node(op, { type: 'unary', op: op.text as '+' | '-', arg, pos: op.pos }, arg);
    }
    return parsePower();
  }

  function parsePrimary(): Expr {
    const token = tokens[at];
    if (token.kind === 'number') {
      at++;
      return { type: 'number', value: token.value, pos: token.pos };
    }
    if (token.kind === 'name') {
      at++;
      if (peek().kind !== '(') return { type: 'name', name: token.name, pos: token.pos };
      const open = tokens[at++];
      const args: Expr[] = [];
      if (peek().kind !== ')') {
        args.push(descend(open, parseBar));
        while (peek().kind === ',') {
          at++;
          args.push(descend(open, parseBar));
        }
      }
      closeParen(open);
      return node(token, { type: 'call', fn: token.name, args, pos: token.pos }, ...args);
    }
    if (token.kind === '(') {
      at++;
      const inner = descend(token, parseBar);
      closeParen(token);
      return node(token, { type: 'paren', inner, pos: token.pos }, inner);
    }
    return unexpected(token);
  }

  function closeParen(open: Token): void {
    const token = peek();
    if (token.kind === ')') {
      at++;
      return;
    }
    if (token.kind === 'end') fail(open, "this '(' is never closed");
    unexpected(token);
  }

  if (tokens.length === 1) fail(tokens[0], 'empty formula');
  let lhs: Expr | undefined;
  if (!isOp('~')) {
    lhs = parseSum();
    if (!isOp('~')) {
      if (peek().kind === 'end') fail(peek(), "expected '~' (a formula looks like 'y ~ x')");
      unexpected(peek());
    }
  }
  at++; // the ~
  const rhs = parseBar();
  if (peek().kind !== 'end') unexpected(peek());
  return { text, lhs, rhs };
}
