/**
 * Whole-brain fits split into chunks: each chunk's records and the merge give the single run's
 * maps bit for bit (worker threads too), reruns fit only missing chunks, chunks of another
 * analysis are refused, and the command line's --chunks/--chunk and `brain merge`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { chunkState, lmerBrainChunk, lmerBrainChunks, mergeBrainChunks, planBrainChunks, type ChunkRun } from '../src/brain/chunks';
import type { BrainFit } from '../src/brain/fit';
import { lmerBrain, lmerBrainSync } from '../src/brain/lmerbrain';
import { SyntheticDataset } from '../src/brain/synthetic';
import { arrayRanges, shellQuote } from '../src/cluster/slurm';
import { runBrain } from '../src/cli/brain';
import { DataError, ModelError } from '../src/errors';
import { readBlmmResults } from '../src/io/blmm';

const FORMULA = 'y ~ sex + age + time + nih + site + (1 | subject)';
const SLOPE = 'y ~ sex + age + time + nih + site + (1 + time | subject)';
const VISITS: [number, number, number] = [10, 40, 30];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-chunks-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const data = new SyntheticDataset({ visits: VISITS, vertices: 300, seed: 21, missing: 0.02 });
const images = data.matrix();
const contrasts = {
  time: 'time',
  sexAge: [
    [0, 1, ...Array(21).fill(0)],
    [0, 0, 1, ...Array(20).fill(0)],
  ],
};
// every third block of 50 vertices outside the analysis mask: tasks that read nothing
const mask = Float32Array.from({ length: 300 }, (_, i) => (Math.floor(i / 50) % 3 === 2 ? 0 : 1));
const options = { images, contrasts, mask, chunkSize: 40 };

/** Same maps, volumes, status and log-likelihoods, compared as bits (NaN = NaN). */
function assertIdentical(a: BrainFit, b: BrainFit): void {
  assert.deepEqual(a.mapNames, b.mapNames);
  for (const name of a.mapNames) {
    assert.deepEqual(a.mapInfo(name).volumes, b.mapInfo(name).volumes, `volumes of ${name}`);
    const x = new Uint32Array(a.map(name).buffer);
    const y = new Uint32Array(b.map(name).buffer);
    const differ = x.findIndex((v, i) => v !== y[i] && !(Number.isNaN(a.map(name)[i]) && Number.isNaN(b.map(name)[i])));
    assert.equal(differ, -1, `${name}[${differ}]: ${a.map(name)[differ]} vs ${b.map(name)[differ]}`);
  }
  assert.deepEqual(a.status, b.status);
  assert.deepEqual(new Uint8Array(a.llh.buffer), new Uint8Array(b.llh.buffer));
  assert.equal(a.evaluations, b.evaluations);
  assert.equal(a.crowded, b.crowded);
}

test('chunks: the maps do not depend on the number of workers', async () => {
  const inThread = lmerBrainSync(FORMULA, data.table, options);
  const threaded = await lmerBrain(FORMULA, data.table, { ...options, workers: 2 });
  assertIdentical(threaded, inThread);
  assert.ok(inThread.counts().fitted > 150);
});

test('chunks: fitted apart (in any order, with or without workers) and merged, they are the single run bit for bit', async () => {
  for (const [formula, chunks] of [
    [FORMULA, 3],
    [SLOPE, 8],
  ] as const) {
    const single = lmerBrainSync(formula, data.table, options);
    const dir = path.join(tmp, `apart-${chunks}`);
    const order = Array.from({ length: chunks }, (_, i) => chunks - i);
    const runs: ChunkRun[] = [];
    for (const chunk of order) runs.push(await lmerBrainChunk(formula, data.table, { ...options, chunks, chunk, dir, workers: chunk % 2 ? 0 : 2 }));
    // the ranges are consecutive whole tasks covering every voxel
    const ranges = runs.map((r) => [r.from, r.to]).sort((a, b) => a[0] - b[0]);
    assert.equal(ranges[0][0], 0);
    assert.equal(ranges[chunks - 1][1], 300);
    ranges.forEach(([from, to], i) => {
      assert.equal(from % 40, 0);
      if (i) assert.equal(from, ranges[i - 1][1]);
      assert.ok(to > from);
    });
    assert.ok(runs.every((r) => !r.alreadyDone && r.manifest.peakMemoryMB > 0));
    const merged = mergeBrainChunks([dir]);
    assertIdentical(merged, single);
    assert.equal(merged.summary().split('\n').slice(2, 4).join('\n'), single.summary().split('\n').slice(2, 4).join('\n'));
  }
});

test('chunks: a rerun fits only the missing chunks; partial and foreign chunks are never used', async () => {
  const dir = path.join(tmp, 'rerun');
  const split = { ...options, chunks: 4, dir, workers: 0 };
  const single = lmerBrainSync(FORMULA, data.table, options);
  await lmerBrainChunk(FORMULA, data.table, { ...split, chunk: 2 });
  await lmerBrainChunk(FORMULA, data.table, { ...split, chunk: 3 });
  // a chunk killed while writing leaves only its temporary folder
  fs.mkdirSync(path.join(dir, '.chunk-0001.dead'));
  fs.writeFileSync(path.join(dir, '.chunk-0001.dead', 'status.u8'), Buffer.alloc(3));
  // a chunk folder whose records were cut short is not complete
  const three = path.join(dir, 'chunk-0003', 'records.f64');
  fs.truncateSync(three, fs.statSync(three).size - 8);
  assert.deepEqual(chunkState(dir), { plan: chunkState(dir).plan, done: [2], missing: [1, 3, 4] });
  assert.throws(
    () => mergeBrainChunks([dir]),
    (e: unknown) => e instanceof DataError && /chunks 1, 3, 4 of 4 missing or incomplete/.test(e.message),
  );

  const seen: [number, boolean][] = [];
  const merged = await lmerBrainChunks(FORMULA, data.table, { ...split, onChunk: (r) => seen.push([r.chunk, r.alreadyDone]) });
  assert.deepEqual(seen, [
    [1, false],
    [2, true],
    [3, false],
    [4, false],
  ]);
  assertIdentical(merged, single);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['chunk-0001', 'chunk-0002', 'chunk-0003', 'chunk-0004', 'plan.json']);
  const again = await lmerBrainChunk(FORMULA, data.table, { ...split, chunk: 4 });
  assert.ok(again.alreadyDone);

  // another model, other images, or another split into the same folder: refused, naming the folder
  await assert.rejects(
    lmerBrainChunk(SLOPE, data.table, { ...split, chunk: 1 }),
    (e: unknown) => e instanceof DataError && e.message.includes(dir) && /another analysis/.test(e.message),
  );
  const other = images.slice();
  other[5] += 1;
  await assert.rejects(lmerBrainChunk(FORMULA, data.table, { ...split, images: other, chunk: 1 }), /another analysis/);
  await assert.rejects(lmerBrainChunk(FORMULA, data.table, { ...split, chunks: 3, chunk: 1 }), /a split into 4 chunks \(not 3\)/);
  // single chunks' folders from two places merge; chunks of two analyses do not
  const copy = path.join(tmp, 'rerun-copy');
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'chunk-0001'), { recursive: true });
  assertIdentical(mergeBrainChunks([path.join(dir, 'chunk-0001'), copy]), single);
  assert.throws(() => mergeBrainChunks([dir, path.join(tmp, 'apart-3')]), /another analysis or split/);
});

test('chunks: the split is checked before any image is read', async () => {
  const dir = path.join(tmp, 'checks');
  // 300 voxels in tasks of 40 make 8 tasks
  await assert.rejects(
    lmerBrainChunk(FORMULA, data.table, { ...options, chunks: 9, chunk: 1, dir }),
    (e: unknown) => e instanceof ModelError && /at most 8 chunks/.test(e.message),
  );
  await assert.rejects(lmerBrainChunk(FORMULA, data.table, { ...options, chunks: 4, chunk: 5, dir }), /chunk must be a whole number from 1 to 4, got 5/);
  await assert.rejects(lmerBrainChunk(FORMULA, data.table, { ...options, chunks: 0, chunk: 1, dir }), /at least 1, got 0/);
  // without a number of chunks: one per 10,000 voxels
  assert.ok(!fs.existsSync(dir), 'nothing is written');
  assert.equal(planBrainChunks(FORMULA, data.table, { ...options, dir }).plan.chunks, 1);
});

test('chunks: the command line fits one chunk, the rest, and merges into the single run maps', async () => {
  const files = new SyntheticDataset({ visits: VISITS, vertices: 512, seed: 22, missing: 0.02 });
  const dir = path.join(tmp, 'cli');
  const { table } = files.writeFiles(dir);
  const base = [
    '--data',
    table,
    '--formula',
    FORMULA,
    '--image-column',
    'InputFile',
    '--image-dir',
    dir,
    '--contrast',
    'time=time',
    '--quiet',
    '--workers',
    '0',
  ];
  const stdout = async (args: string[]) => {
    const write = process.stdout.write.bind(process.stdout);
    let out = '';
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    try {
      await runBrain(args);
    } finally {
      process.stdout.write = write;
    }
    return out;
  };
  await stdout([...base, '--out', path.join(tmp, 'cli-single')]);
  const out = path.join(tmp, 'cli-chunked');
  assert.match(
    await stdout([...base, '--out', out, '--chunks', '2', '--chunk', '2']),
    /^chunk 2 of 2 \(voxels 256-511\) fitted: \d+ of 256 voxels in .* s \(.* s CPU, peak \d+ MB\); .*chunk-0002\n$/,
  );
  assert.match(await stdout([...base, '--out', out, '--chunks', '2', '--chunk', '2']), /chunk 2 of 2 \(voxels 256-511\) was complete already: nothing to do/);
  await assert.rejects(stdout(['merge', path.join(out, 'chunks')]), /chunk 1 of 2 missing or incomplete/);
  await stdout([...base, '--out', out, '--chunks', '2', '--chunk', '1']);
  assert.match(await stdout(['merge', path.join(out, 'chunks')]), /Wrote 14 maps to .*cli-chunked\n$/);
  const a = readBlmmResults(path.join(tmp, 'cli-single'), { nvertices: 512 });
  const b = readBlmmResults(out, { nvertices: 512 });
  assert.deepEqual([...b.maps.keys()].sort(), [...a.maps.keys()].sort());
  for (const name of a.maps.keys()) {
    const file = fs.readdirSync(out).find((f) => f.startsWith(`blmm_vox_${name}.`))!;
    assert.ok(fs.readFileSync(path.join(out, file)).equals(fs.readFileSync(path.join(tmp, 'cli-single', file))), `${file} differs`);
  }
  // --chunks without --chunk: the missing chunks, then the maps
  const all = path.join(tmp, 'cli-all');
  assert.match(await stdout([...base, '--out', all, '--chunks', '2']), /Wrote 14 maps/);
  for (const file of fs.readdirSync(all).filter((f) => f.startsWith('blmm_vox_')))
    assert.ok(fs.readFileSync(path.join(all, file)).equals(fs.readFileSync(path.join(out, file))), file);
  await assert.rejects(stdout([...base, '--out', all, '--chunk', '1']), /--chunk needs --chunks/);
  await assert.rejects(stdout([...base, '--out', all, '--wait']), /--wait is for --cluster slurm/);
  await assert.rejects(stdout([...base, '--out', all, '--cluster', 'sge']), /cluster type 'sge' is not supported/);
});

test('chunks: sbatch array ranges and shell quoting', () => {
  assert.equal(arrayRanges([1, 2, 3, 5, 7, 8]), '1-3,5,7-8');
  assert.equal(arrayRanges([4]), '4');
  assert.equal(shellQuote("/data/a b/it's.csv"), `'/data/a b/it'\\''s.csv'`);
  assert.equal(shellQuote('--out=/x/y'), '--out=/x/y');
});
