/**
 * The kernel's input history, answering history_request as IPython does for its current session:
 * entries are [session, line, input] (or [session, line, [input, output]] with `output`), `tail`
 * gives the last n, `range` lines start..stop-1, `search` a glob over the whole input (SQLite GLOB
 * rules, as IPython's history database), optionally unique and limited to the last n matches.
 * History lives in memory: earlier sessions have none.
 */
export interface HistoryRequest {
  output?: boolean;
  hist_access_type?: 'tail' | 'range' | 'search';
  session?: number;
  start?: number;
  stop?: number | null;
  n?: number | null;
  pattern?: string;
  unique?: boolean;
}

export type HistoryItem = [number, number, string | [string, string | null]];

interface Entry {
  line: number;
  input: string;
  output: string | null;
}

/** This process's session number (IPython numbers sessions from 1; 0 and -0 mean "current"). */
export const CURRENT_SESSION = 1;
const DEFAULT_TAIL = 10;

/** SQLite GLOB: `*`, `?` and `[...]` (with `^` negation), case-sensitive, matching the whole text. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const close = c === '[' ? pattern.indexOf(']', i + 2) : -1;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (close > 0) {
      const body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
      source += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export class History {
  private readonly entries: Entry[] = [];

  record(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  /** The text/plain form of the cell's result, for requests with `output: true`. */
  recordOutput(line: number, text: string): void {
    const last = this.entries.at(-1);
    if (last?.line === line) last.output = text;
  }

  answer(request: HistoryRequest): HistoryItem[] {
    return this.select(request).map((e) => [CURRENT_SESSION, e.line, request.output ? [e.input, e.output] : e.input]);
  }

  private select(request: HistoryRequest): Entry[] {
    switch (request.hist_access_type) {
      case 'tail':
        return this.entries.slice(-(request.n ?? DEFAULT_TAIL));
      case 'range': {
        const session = request.session ?? 0;
        if (session !== 0 && session !== CURRENT_SESSION) return [];
        const start = request.start ?? 0;
        const stop = request.stop ?? Infinity;
        return this.entries.filter((e) => e.line >= start && e.line < stop);
      }
      case 'search': {
        const glob = globToRegExp(request.pattern ?? '*');
        let found = this.entries.filter((e) => glob.test(e.input));
        // IPython keeps the latest entry of each distinct input
        if (request.unique) found = found.filter((e, i) => !found.slice(i + 1).some((later) => later.input === e.input));
        return request.n == null ? found : found.slice(-request.n);
      }
      default:
        return [];
    }
  }
}
