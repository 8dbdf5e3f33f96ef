export { parseFormula, type Expr, type Formula, type BinaryOp } from './parse';
export { deparse, formatNumber, isSyntacticName } from './deparse';
export { expandFormula, termsOf, type TermSpec, type RandomSpec, type ExpandedFormula } from './terms';
