/**
 * Typed errors. Every user-facing problem is one of these, carrying a message that names
 * the file, column or position at fault; the CLI prints `message` alone (no stack trace).
 */
export class NeurolmmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A formula that does not parse; `position` is the 0-based character offset. */
export class FormulaError extends NeurolmmError {
  constructor(
    readonly formula: string,
    readonly position: number,
    problem: string,
  ) {
    super(`formula syntax error: ${problem} at position ${position + 1}\n  ${formula}\n  ${' '.repeat(Math.max(0, position))}^`);
  }
}

/** Bad or unusable input data: unknown column, non-numeric response, empty data, unreadable file. */
export class DataError extends NeurolmmError {}

/** A model that cannot be fitted as specified (lme4's checks on grouping factors, contrasts of the wrong size, ...). */
export class ModelError extends NeurolmmError {}
