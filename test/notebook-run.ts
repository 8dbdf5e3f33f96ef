/**
 * Running the example notebooks headless, shared by the notebook tests: Debian's
 * `python3 -m nbconvert --to notebook --execute` on the installed neurolmm kernel, and reading cells
 * and outputs of the executed notebook.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_DIR, TestKernel } from './kernel/jupyter';

export const NOTEBOOK_MODULES = ['jupyter_client', 'nbclient', 'nbconvert'];
export const NOTEBOOK_DIR = path.join(REPO_DIR, 'notebooks');

export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
export interface Cell {
  cell_type: 'code' | 'markdown';
  source: string | string[];
  outputs?: Output[];
}
export interface Notebook {
  metadata: { kernelspec: { name: string }; widgets?: Record<string, unknown> };
  cells: Cell[];
}

export const joined = (value: unknown): string => (Array.isArray(value) ? value.join('') : String(value ?? ''));
export const readNotebook = (file: string): Notebook => JSON.parse(readFileSync(file, 'utf8'));

export interface ExecuteOptions {
  /** name of the executed copy in the kernel's work directory (default `<name>.executed.ipynb`) */
  output?: string;
  /** variables added to the kernel's environment */
  env?: NodeJS.ProcessEnv;
  /** seconds per cell (default 120) */
  timeout?: number;
}

/**
 * `jupyter nbconvert --to notebook --execute` of notebooks/<name>.ipynb in the kernel's work directory
 * (no --allow-errors: a failing cell fails the run, and the rejection carries nbconvert's stderr).
 */
export function executeNotebook(python: string, kernel: TestKernel, name: string, options: ExecuteOptions = {}): Promise<Notebook> {
  const output = options.output ?? `${name}.executed.ipynb`;
  const input = path.join(kernel.workDir, `${path.basename(output, '.ipynb')}.input.ipynb`);
  copyFileSync(path.join(NOTEBOOK_DIR, `${name}.ipynb`), input);
  const args = ['-m', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.timeout=${options.timeout ?? 120}`, '--output', output, input];
  const attempt = (left: number): Promise<Notebook> =>
    new Promise((resolve, reject) => {
      const run = spawn(python, args, { cwd: kernel.workDir, env: { ...kernel.env, ...options.env } });
      let stderr = '';
      run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      run.on('error', reject);
      run.on('close', (status) => {
        // jupyter_client picks free ports and releases them before the kernel binds them: runs
        // started together can draw the same port, and then the kernel cannot start
        if (status !== 0 && left > 0 && /kernel failed to start: Error: Address already in use/.test(stderr)) resolve(attempt(left - 1));
        else if (status !== 0)
          reject(
            new Error(
              `${name}.ipynb failed (nbconvert exit ${status}):\n${stderr.length > 8000 ? `${stderr.slice(0, 4000)}\n...\n${stderr.slice(-4000)}` : stderr}`,
            ),
          );
        else resolve(readNotebook(path.join(kernel.workDir, output)));
      });
    });
  return attempt(2);
}

/**
 * `jupyter nbconvert --to html --template neurolmm` (the template `neurolmm kernel install` puts beside
 * the kernelspec) of an executed notebook in the kernel's work directory; returns the page's path.
 */
export function exportHtml(python: string, kernel: TestKernel, executed: string, outputFile: string): string {
  const args = [
    '-m',
    'nbconvert',
    '--to',
    'html',
    '--template',
    'neurolmm',
    '--output-dir',
    path.dirname(outputFile),
    '--output',
    path.basename(outputFile, '.html'),
    executed,
  ];
  const run = spawnSync(python, args, { cwd: kernel.workDir, env: kernel.env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `nbconvert --to html failed:\n${run.stderr}`);
  return outputFile;
}

/** The code cell whose source matches `source`. */
export function codeCell(notebook: Notebook, source: RegExp): Cell {
  const cell = notebook.cells.find((c) => c.cell_type === 'code' && source.test(joined(c.source)));
  assert.ok(cell, `no code cell matching ${source}`);
  return cell;
}

/** The text output of the code cell whose source matches `source` (execute_result or stdout). */
export function outputOf(notebook: Notebook, source: RegExp): string {
  return codeCell(notebook, source)
    .outputs!.map((o) => joined(o.data?.['text/plain'] ?? o.text))
    .join('\n');
}

/** Error outputs and stderr streams of all code cells (none in a clean run). */
export function problems(notebook: Notebook): Output[] {
  return notebook.cells
    .filter((c) => c.cell_type === 'code')
    .flatMap((c) => c.outputs!)
    .filter((o) => o.output_type === 'error' || o.name === 'stderr');
}
