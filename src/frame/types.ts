/**
 * The model frame: what the formula language produces from a data table, and what every
 * fitting engine (lm, lmer, the whole-brain engine) consumes. Matrices are column-major
 * Float64Arrays (column j occupies [j*n, (j+1)*n)).
 */
import type { FactorCoding } from './contrasts';

/** A single cell as accepted from user data. null/undefined/NaN mean missing. */
export type Cell = number | string | boolean | null | undefined;

/**
 * A column: numbers (NaN = missing) or labels (null = missing). A label column with `levels` is a
 * factor with that level order (R's factor(x, levels)); `ordered` makes it an ordered factor.
 */
export type Column =
  { kind: 'numeric'; values: Float64Array } | { kind: 'label'; values: (string | null)[]; boolean?: boolean; levels?: string[]; ordered?: boolean };

/** A rectangular table of named columns, the common form of every data input. */
export interface Table {
  readonly names: string[];
  readonly nrows: number;
  column(name: string): Column | undefined;
  /** where the data came from, for messages ("sleepstudy.csv"); undefined for in-memory data */
  readonly source?: string;
}

/** A factor: 0-based integer codes into `levels` (R's level order). */
export interface Factor {
  readonly codes: Int32Array;
  readonly levels: string[];
  /** an ordered factor (polynomial contrasts by default) */
  readonly ordered?: boolean;
}

/** One random-effects term `(expr | group)` after expansion of `||` and `/`. */
export interface RandomTerm {
  /** the grouping factor's name as lme4 prints it: "Subject", "Dog:Side", "Variety:Block" */
  readonly group: string;
  /** grouping factor over the rows used, with unused levels dropped */
  readonly factor: Factor;
  /** column names of the term's model matrix as R prints them: "(Intercept)", "Days", "MachineB" */
  readonly names: string[];
  /** n x k model matrix of the term's left-hand side, column-major */
  readonly z: Float64Array;
}

/** Rebuilds the fixed-effects model matrix for new data with the fitted model's coding (for predict). */
export interface FixedDesign {
  /** X for `table` (rows with missing covariates give NaN rows), columns named as the fitted model's xNames */
  matrix(table: Table): Float64Array;
}

export interface ModelFrame {
  readonly formula: string;
  /** response name as written, e.g. "Reaction" or "log(y)"; undefined for a one-sided formula */
  readonly response?: string;
  /** number of rows used */
  readonly n: number;
  /** response over the rows used; undefined when the response is not a column (whole-brain images) */
  readonly y?: Float64Array;
  /** n x p fixed-effects model matrix after dropping rank-deficient columns, column-major */
  readonly X: Float64Array;
  readonly xNames: string[];
  /** for each column of X, the index into `termLabels` of the term it codes; -1 for the intercept */
  readonly assign: Int32Array;
  /** fixed-effect term labels as R's terms() gives them, in R's order: "Days", "Machine", "age:Sex" */
  readonly termLabels: string[];
  readonly hasIntercept: boolean;
  /** random-effects terms in formula order (engines reorder them by number of levels) */
  readonly reTerms: RandomTerm[];
  /** names of fixed-effect columns dropped as linearly dependent on earlier ones */
  readonly droppedColumns: string[];
  /** indices of the data rows used (rows with a missing value in a used column are omitted) */
  readonly rows: Int32Array;
  /** number of data rows omitted for missing values */
  readonly nOmitted: number;
  /** messages for the user, lme4-style ("fixed-effect model matrix is rank deficient so dropping 1 column / coefficient") */
  readonly warnings: string[];
  readonly design: FixedDesign;
  /** the fixed-effects factors' codings (levels, contrasts) by variable label: "Machine", "factor(x)" */
  readonly factorCodings?: Record<string, FactorCoding>;
  /**
   * the data columns the fixed effects read, as a reference grid needs them: a factor column's
   * levels, or a numeric column's mean over the rows used
   */
  readonly gridColumns?: Record<string, { readonly levels: string[] } | { readonly mean: number }>;
}
