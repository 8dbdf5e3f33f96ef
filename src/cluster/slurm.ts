/**
 * The chunks of a whole-brain fit on SLURM, with SLURM's own commands only (sbatch, squeue,
 * sacct; nothing of ours keeps running):
 * - a job array with one task per missing chunk (`sbatch --array`),
 * - a retry array of the same chunks that SLURM starts only if a task of the first failed
 *   (`afternotok`); chunks already complete return at once, so it refits the failed ones only,
 * - a merge job that runs once either array succeeded (`afterok:A?afterok:R`).
 * Jobs whose dependency can no longer be met (the retry when nothing failed, the merge when a
 * chunk failed twice) are cancelled by SLURM itself (`--kill-on-invalid-dep=yes`).
 * `followSlurm` watches the jobs with squeue (sacct for jobs squeue no longer shows) and reports
 * progress and failures by chunk.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as nodePath from 'path';
import { NeurolmmError } from '../errors';

/** The scheduler refused a job, is not there, or a job failed. */
export class SchedulerError extends NeurolmmError {}

export interface SlurmResources {
  cpusPerTask: number;
  /** memory per chunk task */
  memoryMB: number;
  mergeMemoryMB: number;
  /** time limit per job (sbatch --time) */
  time?: string;
  partition?: string;
  account?: string;
  /** at most this many chunk tasks at once (`--array=...%K`; BLMM's numNodes) */
  maxRunning?: number;
  /** further sbatch arguments for every job */
  extra?: string[];
}

export interface SlurmSubmission {
  /** job name */
  name: string;
  /** working folder of the jobs */
  cwd: string;
  /** where the scripts and logs go */
  logDir: string;
  /** chunks to fit (1-based); none: only the merge job is submitted */
  chunks: number[];
  /** shell command of one array task; $SLURM_ARRAY_TASK_ID is its chunk */
  chunkCommand: string;
  mergeCommand: string;
  resources: SlurmResources;
}

export interface SlurmJobs {
  chunks: number[];
  /** job ids: the array, its retry, the merge */
  array?: string;
  retry?: string;
  merge: string;
  logDir: string;
}

/** Quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** 1,2,3,5,7,8 -> "1-3,5,7-8": sbatch's array syntax. */
export function arrayRanges(chunks: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < chunks.length;) {
    let j = i;
    while (j + 1 < chunks.length && chunks[j + 1] === chunks[j] + 1) j++;
    parts.push(i === j ? `${chunks[i]}` : `${chunks[i]}-${chunks[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new SchedulerError(`${command} not found: run this on a machine with the SLURM client commands (a login node), or without --cluster`);
    throw new SchedulerError(`${command} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function sbatch(args: string[]): string {
  // --parsable prints "jobid" or "jobid;cluster"
  return run('sbatch', ['--parsable', ...args])
    .trim()
    .split(';')[0];
}

function writeScript(path: string, what: string, command: string): string {
  fs.writeFileSync(path, `#!/bin/bash\n# ${what} (written by neurolmm brain --cluster slurm)\nexec ${command}\n`, { mode: 0o755 });
  return path;
}

/** Submits the chunk array, its retry and the merge job; returns their ids. */
export function submitSlurm(s: SlurmSubmission): SlurmJobs {
  const r = s.resources;
  fs.mkdirSync(s.logDir, { recursive: true });
  const common = [`--job-name=${s.name}`, `--chdir=${s.cwd}`];
  if (r.partition) common.push(`--partition=${r.partition}`);
  if (r.account) common.push(`--account=${r.account}`);
  if (r.time) common.push(`--time=${r.time}`);
  common.push(...(r.extra ?? []));
  const log = (name: string) => `--output=${nodePath.join(s.logDir, name)}`;
  const mergeScript = writeScript(nodePath.join(s.logDir, 'merge.sh'), 'merges the chunks into the maps', s.mergeCommand);
  const merge = ['--cpus-per-task=1', `--mem=${r.mergeMemoryMB}M`, log('merge.out'), '--kill-on-invalid-dep=yes'];
  if (s.chunks.length === 0) return { chunks: [], merge: sbatch([...common, ...merge, mergeScript]), logDir: s.logDir };

  const chunkScript = writeScript(nodePath.join(s.logDir, 'chunk.sh'), 'fits chunk $SLURM_ARRAY_TASK_ID of the whole-brain fit', s.chunkCommand);
  const array = `--array=${arrayRanges(s.chunks)}${r.maxRunning ? `%${r.maxRunning}` : ''}`;
  const task = [array, `--cpus-per-task=${r.cpusPerTask}`, `--mem=${r.memoryMB}M`];
  const first = sbatch([...common, ...task, log('chunk-%a.out'), chunkScript]);
  const retry = sbatch([...common, ...task, log('chunk-%a.retry.out'), `--dependency=afternotok:${first}`, '--kill-on-invalid-dep=yes', chunkScript]);
  const mergeJob = sbatch([...common, ...merge, `--dependency=afterok:${first}?afterok:${retry}`, mergeScript]);
  return { chunks: s.chunks, array: first, retry, merge: mergeJob, logDir: s.logDir };
}

export interface JobState {
  /** SLURM's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ... */
  state: string;
  /** squeue's reason (NonZeroExitCode, DependencyNeverSatisfied, ...) or sacct's exit code */
  detail: string;
}

const ACTIVE = new Set([
  'PENDING',
  'RUNNING',
  'CONFIGURING',
  'COMPLETING',
  'REQUEUED',
  'RESIZING',
  'SUSPENDED',
  'STAGE_OUT',
  'SIGNALING',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
]);

function isFailure(s: JobState | undefined): boolean {
  return s !== undefined && s.state !== 'COMPLETED' && !ACTIVE.has(s.state);
}

function describe(s: JobState): string {
  return s.detail && s.detail !== 'None' ? `${s.state} (${s.detail})` : s.state;
}

/**
 * States of the jobs and their array tasks ("12_3"), from squeue, and from sacct for those squeue
 * no longer shows (when accounting is enabled).
 */
export function jobStates(ids: string[]): Map<string, JobState> {
  const states = new Map<string, JobState>();
  const parse = (text: string) => {
    for (const line of text.split('\n')) {
      const [id, state, detail] = line.trim().split('|');
      // sacct says "CANCELLED by 0"
      if (id && state) states.set(id, { state: state.split(' ')[0], detail: detail ?? '' });
    }
  };
  try {
    parse(run('squeue', ['-h', '-r', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r']));
  } catch (err) {
    // squeue refuses a list of jobs it has all forgotten
    if (!(err instanceof SchedulerError && /Invalid job id/i.test(err.message))) throw err;
  }
  if (ids.every((id) => [...states.keys()].some((k) => k === id || k.startsWith(`${id}_`)))) return states;
  try {
    const known = new Map(states);
    parse(run('sacct', ['-n', '-P', '-X', '-j', ids.join(','), '-o', 'JobID,State,ExitCode']));
    for (const [id, s] of known) states.set(id, s);
  } catch {
    // accounting disabled: squeue is all there is
  }
  return states;
}

export interface FollowOptions {
  /** chunks of the split, for the progress line */
  total: number;
  /** the chunks complete (their folders written) */
  doneChunks(): Set<number>;
  /** milliseconds between polls */
  interval: number;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows submitted jobs until the merge job ends: a progress line whenever the counts change,
 * a line for each failed task (and when its retry fails too). Resolves when the merge job has
 * completed; rejects with the failed chunks (states and logs) otherwise.
 */
export async function followSlurm(jobs: SlurmJobs, options: FollowOptions): Promise<void> {
  const ids = [jobs.array, jobs.retry, jobs.merge].filter((x): x is string => x !== undefined);
  const reported = new Set<string>();
  const logOf = (chunk: number, retry: boolean) => nodePath.join(jobs.logDir, `chunk-${chunk}${retry ? '.retry' : ''}.out`);
  let lastLine = '';
  let missingPolls = 0;
  for (;;) {
    const states = jobStates(ids);
    const complete = options.doneChunks();
    let done = options.total - jobs.chunks.length;
    let running = 0;
    const failedTwice: string[] = [];
    for (const chunk of jobs.chunks) {
      if (complete.has(chunk)) {
        done++;
        continue;
      }
      const first = states.get(`${jobs.array}_${chunk}`);
      const again = states.get(`${jobs.retry}_${chunk}`);
      if (isFailure(first) && !reported.has(`a${chunk}`)) {
        reported.add(`a${chunk}`);
        options.log(
          `chunk ${chunk} (job ${jobs.array}_${chunk}) ${describe(first!)}: SLURM fits it again when the array has ended (log: ${logOf(chunk, false)})`,
        );
      }
      if (isFailure(again) && again!.detail !== 'DependencyNeverSatisfied') {
        failedTwice.push(
          `chunk ${chunk}: job ${jobs.array}_${chunk} ${first ? describe(first) : 'failed'}, retry ${jobs.retry}_${chunk} ${describe(again!)} (logs: ${logOf(chunk, false)}, ${logOf(chunk, true)})`,
        );
        if (!reported.has(`r${chunk}`)) {
          reported.add(`r${chunk}`);
          options.log(`chunk ${chunk} failed again (job ${jobs.retry}_${chunk} ${describe(again!)}; log: ${logOf(chunk, true)})`);
        }
      }
      if (first?.state === 'RUNNING' || again?.state === 'RUNNING') running++;
    }
    const merge = states.get(jobs.merge);
    const mergeText = merge ? `merge job ${jobs.merge} ${merge.state.toLowerCase()}` : `merge job ${jobs.merge}`;
    const line = `chunks: ${done}/${options.total} done, ${running} running; ${mergeText}`;
    if (line !== lastLine) options.log(line);
    lastLine = line;
    if (merge?.state === 'COMPLETED') return;
    if (isFailure(merge) || (failedTwice.length && merge === undefined)) {
      if (failedTwice.length) {
        throw new SchedulerError(
          `${failedTwice.length} chunk${failedTwice.length > 1 ? 's' : ''} failed twice, so the maps were not merged:\n  ${failedTwice.join('\n  ')}\n` +
            'The complete chunks are kept: fix the cause and run the same command again to fit the others.',
        );
      }
      throw new SchedulerError(`merge job ${jobs.merge} ${describe(merge!)}: see ${nodePath.join(jobs.logDir, 'merge.out')}`);
    }
    // a job neither squeue nor sacct knows any more: its end went unseen
    missingPolls = merge === undefined ? missingPolls + 1 : 0;
    if (missingPolls >= 3)
      throw new SchedulerError(`merge job ${jobs.merge} is no longer known to squeue or sacct; see ${nodePath.join(jobs.logDir, 'merge.out')}`);
    await sleep(options.interval);
  }
}
