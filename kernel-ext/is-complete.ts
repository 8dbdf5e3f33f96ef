/**
 * is_complete_request: tslab decides complete/incomplete (an unfinished construct at the end of the
 * code, with the indent for the next line); code it calls complete that does not parse is `invalid`,
 * so a console runs it and shows the syntax error instead of waiting for more lines.
 */
import { createRequire } from 'node:module';
import { isCompleteCode } from 'tslab/dist/converter';

interface TypeScriptParser {
  createSourceFile(fileName: string, text: string, target: number, setParentNodes?: boolean, kind?: number): { parseDiagnostics?: unknown[] };
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
}

/** The TypeScript tslab compiles cells with (its own build, a dependency of tslab). */
const ts = createRequire(require.resolve('tslab'))('@tslab/typescript-for-tslab') as TypeScriptParser;

export type IsCompleteReply = { status: 'complete' | 'invalid' } | { status: 'incomplete'; indent: string };

export function isComplete(code: string): IsCompleteReply {
  const tslabAnswer = isCompleteCode(code);
  if (!tslabAnswer.completed) return { status: 'incomplete', indent: tslabAnswer.indent ?? '' };
  const source = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return (source.parseDiagnostics?.length ?? 0) > 0 ? { status: 'invalid' } : { status: 'complete' };
}
