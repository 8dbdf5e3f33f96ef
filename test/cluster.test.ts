/**
 * The SLURM submission and follower against stand-in sbatch/squeue/sacct scripts: the jobs'
 * arguments and dependencies, and the report of chunks that failed twice, of a failed merge and
 * of a missing scheduler. (test/slurm.test.ts runs the real thing.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { followSlurm, SchedulerError, submitSlurm, type SlurmJobs } from '../src/cluster/slurm';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-cluster-'));
const bin = path.join(tmp, 'bin');
fs.mkdirSync(bin);
const savedPath = process.env.PATH;
process.env.PATH = `${bin}:${savedPath}`;
after(() => {
  process.env.PATH = savedPath;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A stand-in command: appends its arguments to calls.txt and prints `output` (one line per call, or the same). */
function fake(name: string, script: string): void {
  fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${tmp}/calls.txt\n${script}\n`, { mode: 0o755 });
}

function calls(): string[] {
  return fs.existsSync(path.join(tmp, 'calls.txt')) ? fs.readFileSync(path.join(tmp, 'calls.txt'), 'utf8').trim().split('\n') : [];
}

test('cluster: the array, its retry (afternotok) and the merge (afterok either) are submitted with their resources', () => {
  // job ids 101, 102, 103 in turn
  fake('sbatch', `n=$(grep -c '^sbatch' ${tmp}/calls.txt); echo "$((100 + n));cluster"`);
  const logDir = path.join(tmp, 'logs');
  const jobs = submitSlurm({
    name: 'neurolmm-out',
    cwd: '/data',
    logDir,
    chunks: [1, 2, 3, 5],
    chunkCommand: `node main.js brain --chunk "$SLURM_ARRAY_TASK_ID"`,
    mergeCommand: 'node main.js brain merge out/chunks',
    resources: { cpusPerTask: 2, memoryMB: 900, mergeMemoryMB: 300, time: '1:00:00', partition: 'short', maxRunning: 2, extra: ['--qos=low'] },
  });
  assert.deepEqual(jobs, { chunks: [1, 2, 3, 5], array: '101', retry: '102', merge: '103', logDir });
  const [array, retry, merge] = calls();
  const common = '--parsable --job-name=neurolmm-out --chdir=/data --partition=short --time=1:00:00 --qos=low';
  assert.equal(array, `sbatch ${common} --array=1-3,5%2 --cpus-per-task=2 --mem=900M --output=${logDir}/chunk-%a.out ${logDir}/chunk.sh`);
  assert.equal(
    retry,
    `sbatch ${common} --array=1-3,5%2 --cpus-per-task=2 --mem=900M --output=${logDir}/chunk-%a.retry.out --dependency=afternotok:101 --kill-on-invalid-dep=yes ${logDir}/chunk.sh`,
  );
  assert.equal(
    merge,
    `sbatch ${common} --cpus-per-task=1 --mem=300M --output=${logDir}/merge.out --kill-on-invalid-dep=yes --dependency=afterok:101?afterok:102 ${logDir}/merge.sh`,
  );
  assert.equal(fs.readFileSync(path.join(logDir, 'chunk.sh'), 'utf8').split('\n').at(-2), `exec node main.js brain --chunk "$SLURM_ARRAY_TASK_ID"`);
});

const jobs: SlurmJobs = { chunks: [1, 2, 3], array: '7', retry: '8', merge: '9', logDir: '/logs' };

test('cluster: chunks that failed twice are reported by chunk, with their states and logs', async () => {
  fs.rmSync(path.join(tmp, 'calls.txt'), { force: true });
  fake(
    'squeue',
    `printf '7_1|COMPLETED|None\\n7_2|CANCELLED|None\\n7_3|FAILED|NonZeroExitCode\\n8_1|COMPLETED|None\\n8_2|OUT_OF_MEMORY|OutOfMemory\\n8_3|FAILED|NonZeroExitCode\\n9|CANCELLED|DependencyNeverSatisfied\\n'`,
  );
  const lines: string[] = [];
  await assert.rejects(
    followSlurm(jobs, { total: 4, doneChunks: () => new Set([1]), interval: 10, log: (l) => lines.push(l) }),
    (e: unknown) =>
      e instanceof SchedulerError &&
      e.message.startsWith('2 chunks failed twice, so the maps were not merged:\n') &&
      e.message.includes('chunk 2: job 7_2 CANCELLED, retry 8_2 OUT_OF_MEMORY (OutOfMemory) (logs: /logs/chunk-2.out, /logs/chunk-2.retry.out)') &&
      e.message.includes('chunk 3: job 7_3 FAILED (NonZeroExitCode), retry 8_3 FAILED (NonZeroExitCode)') &&
      /run the same command again/.test(e.message),
  );
  assert.deepEqual(lines, [
    'chunk 2 (job 7_2) CANCELLED: SLURM fits it again when the array has ended (log: /logs/chunk-2.out)',
    'chunk 2 failed again (job 8_2 OUT_OF_MEMORY (OutOfMemory); log: /logs/chunk-2.retry.out)',
    'chunk 3 (job 7_3) FAILED (NonZeroExitCode): SLURM fits it again when the array has ended (log: /logs/chunk-3.out)',
    'chunk 3 failed again (job 8_3 FAILED (NonZeroExitCode); log: /logs/chunk-3.retry.out)',
    // one chunk was complete before the submission
    'chunks: 2/4 done, 0 running; merge job 9 cancelled',
  ]);
  assert.deepEqual(calls(), ['squeue -h -r -t all -j 7,8,9 -o %i|%T|%r']);
});

test('cluster: the follower waits while jobs run, asks sacct for jobs squeue forgot, and fails on a failed merge', async () => {
  fs.rmSync(path.join(tmp, 'calls.txt'), { force: true });
  // first poll: running; then squeue has forgotten everything and sacct knows the end
  fake(
    'squeue',
    `if [ "$(grep -c '^squeue' ${tmp}/calls.txt)" = 1 ]; then printf '7_1|RUNNING|None\\n7_2|PENDING|Resources\\n7_3|PENDING|Resources\\n8_1|PENDING|Dependency\\n8_2|PENDING|Dependency\\n8_3|PENDING|Dependency\\n9|PENDING|Dependency\\n'; else echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1; fi`,
  );
  fake('sacct', `printf '7_1|COMPLETED|0:0\\n7_2|COMPLETED|0:0\\n7_3|COMPLETED|0:0\\n8_1|CANCELLED by 0|0:0\\n9|FAILED|1:0\\n'`);
  const lines: string[] = [];
  let polls = 0;
  await assert.rejects(
    followSlurm(jobs, { total: 3, doneChunks: () => new Set(polls++ ? [1, 2, 3] : []), interval: 10, log: (l) => lines.push(l) }),
    (e: unknown) => e instanceof SchedulerError && e.message === 'merge job 9 FAILED (1:0): see /logs/merge.out',
  );
  assert.deepEqual(lines, ['chunks: 0/3 done, 1 running; merge job 9 pending', 'chunks: 3/3 done, 0 running; merge job 9 failed']);
});

test('cluster: without the SLURM commands the message says where to run', () => {
  process.env.PATH = bin;
  fs.rmSync(path.join(bin, 'sbatch'));
  try {
    assert.throws(
      () =>
        submitSlurm({
          name: 'x',
          cwd: tmp,
          logDir: path.join(tmp, 'l2'),
          chunks: [1],
          chunkCommand: 'true',
          mergeCommand: 'true',
          resources: { cpusPerTask: 1, memoryMB: 100, mergeMemoryMB: 100 },
        }),
      (e: unknown) => e instanceof SchedulerError && /^sbatch not found: run this on a machine with the SLURM client commands/.test(e.message),
    );
  } finally {
    process.env.PATH = `${bin}:${savedPath}`;
  }
});
