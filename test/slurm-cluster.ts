/**
 * A single-node SLURM cluster for tests: munged, slurmctld and slurmd on this machine, with a
 * slurm.conf written for its cores and memory and all state in a temporary folder. The client
 * commands find it through SLURM_CONF (in `env`). Needs root and Debian's slurm-wlm and munge.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const COMMANDS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo'];

/** A command's path: on PATH, or in /usr/sbin where Debian puts the daemons. */
function binary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout?.trim();
  if (found) return found;
  return fs.existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : undefined;
}

/** Why a local cluster cannot run here, or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'SLURM runs on Linux only';
  if (process.getuid?.() !== 0) return 'starting slurmd and munged needs root';
  const missing = COMMANDS.filter((c) => !binary(c));
  if (missing.length) return `${missing.join(', ')} not found (apt-get install slurm-wlm munge)`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalSlurm {
  readonly env: NodeJS.ProcessEnv;
  private readonly pidFiles: string[];

  private constructor(
    readonly dir: string,
    conf: string,
  ) {
    this.env = { ...process.env, SLURM_CONF: conf };
    this.pidFiles = ['slurmd.pid', 'slurmctld.pid', 'munged.pid'].map((f) => path.join(dir, f));
  }

  /** Starts the daemons and waits until the node is idle (at most 60 s). */
  static async start(): Promise<LocalSlurm> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-slurm-'));
    fs.chmodSync(dir, 0o755);
    const at = (name: string) => path.join(dir, name);
    const conf = at('slurm.conf');
    const cluster = new LocalSlurm(dir, conf);
    try {
      fs.writeFileSync(at('munge.key'), randomBytes(1024), { mode: 0o600 });
      const socket = at('munge.socket');
      execFileSync(binary('munged')!, [
        '-S',
        socket,
        `--key-file=${at('munge.key')}`,
        `--log-file=${at('munged.log')}`,
        `--pid-file=${at('munged.pid')}`,
        `--seed-file=${at('munged.seed')}`,
        '--num-threads=1',
      ]);
      for (const sub of ['state', 'spool']) fs.mkdirSync(at(sub));
      const host = os.hostname().split('.')[0];
      const cpus = os.availableParallelism();
      const memoryMB = Math.floor((0.8 * os.totalmem()) / 2 ** 20);
      const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
      fs.writeFileSync(
        conf,
        [
          'ClusterName=neurolmmtest',
          `SlurmctldHost=${host}(127.0.0.1)`,
          `SlurmctldPort=${ctldPort}`,
          `SlurmdPort=${slurmdPort}`,
          'SlurmUser=root',
          'SlurmdUser=root',
          'AuthType=auth/munge',
          'CredType=cred/munge',
          `AuthInfo=socket=${socket}`,
          `StateSaveLocation=${at('state')}`,
          `SlurmdSpoolDir=${at('spool')}`,
          `SlurmctldPidFile=${at('slurmctld.pid')}`,
          `SlurmdPidFile=${at('slurmd.pid')}`,
          `SlurmctldLogFile=${at('slurmctld.log')}`,
          `SlurmdLogFile=${at('slurmd.log')}`,
          'ProctrackType=proctrack/linuxproc',
          'TaskPlugin=task/none',
          'SelectType=select/cons_tres',
          'SelectTypeParameters=CR_Core_Memory',
          'SchedulerType=sched/backfill',
          // the scheduler looks at pending jobs every second, so the test does not wait for it
          'SchedulerParameters=sched_interval=1,bf_interval=1',
          'JobAcctGatherType=jobacct_gather/none',
          'AccountingStorageType=accounting_storage/none',
          'MpiDefault=none',
          'ReturnToService=2',
          `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memoryMB} State=UNKNOWN`,
          `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
          '',
        ].join('\n'),
      );
      execFileSync(binary('slurmctld')!, ['-f', conf], { env: cluster.env });
      execFileSync(binary('slurmd')!, ['-f', conf, '-N', host], { env: cluster.env });
      for (let waited = 0; ; waited += 250) {
        const state = spawnSync('sinfo', ['-h', '-o', '%t'], { env: cluster.env, encoding: 'utf8' }).stdout?.trim();
        if (state === 'idle') break;
        if (waited > 60000) throw new Error(`the SLURM node did not become idle (state '${state}'); logs in ${dir}`);
        await sleep(250);
      }
      return cluster;
    } catch (err) {
      await cluster.stop(false);
      throw err;
    }
  }

  /** Runs a SLURM client command against this cluster. */
  command(name: string, args: string[]): string {
    return execFileSync(name, args, { env: this.env, encoding: 'utf8' });
  }

  /**
   * Cancels the jobs left (their processes outlive slurmd otherwise), stops the daemons this
   * cluster started (by their pid files) and removes its folder.
   */
  async stop(removeFolder = true): Promise<void> {
    if (fs.existsSync(path.join(this.dir, 'slurmctld.pid'))) {
      spawnSync('scancel', ['--partition=test'], { env: this.env });
      for (let waited = 0; waited < 10000; waited += 200) {
        const left = spawnSync('squeue', ['-h', '-t', 'RUNNING,COMPLETING', '-o', '%i'], { env: this.env, encoding: 'utf8' }).stdout?.trim();
        if (!left) break;
        await sleep(200);
      }
    }
    for (const file of this.pidFiles) {
      const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : NaN;
      if (!(pid > 0)) continue;
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      if (!alive()) continue;
      process.kill(pid, 'SIGTERM');
      for (let waited = 0; alive() && waited < 10000; waited += 100) await sleep(100);
      if (alive()) process.kill(pid, 'SIGKILL');
    }
    if (removeFolder) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
