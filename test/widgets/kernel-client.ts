/**
 * A minimal Jupyter client for tests: starts the neurolmm kernel (dist/kernel-ext/main.js) on a
 * connection file of its own and talks to it over ZeroMQ (shell requests, IOPub messages), the way
 * JupyterLab does.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { KernelMessage, decodeMessage, encodeMessage } from '../../kernel-ext/wire';
import { REPO } from './fixtures';

/** A TCP port free on 127.0.0.1 now (another process may take it before it is bound). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export type IopubListener = (message: KernelMessage) => void;

export class KernelClient {
  private readonly session = randomUUID();
  private readonly listeners = new Set<IopubListener>();
  private closed = false;

  private constructor(
    private readonly process: ChildProcess,
    private readonly key: string,
    private readonly shell: zmq.Dealer,
    private readonly iopub: zmq.Subscriber,
    private readonly dir: string,
  ) {
    void this.readIopub();
    void this.drainShell();
  }

  static async start(): Promise<KernelClient> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-widget-kernel-'));
    const ports = {
      shell_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      control_port: await freePort(),
      hb_port: await freePort(),
    };
    const key = randomBytes(16).toString('hex');
    const connectionFile = path.join(dir, 'kernel.json');
    fs.writeFileSync(connectionFile, JSON.stringify({ ...ports, ip: '127.0.0.1', transport: 'tcp', signature_scheme: 'hmac-sha256', key }));
    const child = spawn(process.execPath, [path.join(REPO, 'dist', 'kernel-ext', 'main.js'), '--connection-file', connectionFile], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const shell = new zmq.Dealer();
    shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
    const iopub = new zmq.Subscriber();
    iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
    iopub.subscribe();
    const client = new KernelClient(child, key, shell, iopub, dir);
    // IOPub subscriptions take effect asynchronously: ask until a reply's status arrives on IOPub.
    for (let attempt = 0; attempt < 100; attempt++) {
      const seen = await client.request('kernel_info_request', {}, 300).catch(() => null);
      if (seen) return client;
    }
    await client.stop();
    throw new Error('the neurolmm kernel did not answer kernel_info_request');
  }

  onIopub(listener: IopubListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const message = decodeMessage(frames as Buffer[], this.key);
        for (const listener of [...this.listeners]) listener(message);
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  /** Shell replies are not needed: results are read from IOPub. */
  private async drainShell(): Promise<void> {
    try {
      for await (const _ of this.shell) void _;
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  /** Sends a shell request; resolves with the IOPub messages it caused once the kernel is idle again. */
  async request(msgType: string, content: Record<string, unknown>, timeoutMs = 60_000, buffers: Uint8Array[] = []): Promise<KernelMessage[]> {
    const msgId = randomUUID();
    const seen: KernelMessage[] = [];
    const done = new Promise<KernelMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${msgType}: no idle status within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onIopub((m) => {
        if ((m.parentHeader as { msg_id?: string }).msg_id !== msgId) return;
        seen.push(m);
        if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') {
          clearTimeout(timer);
          off();
          resolve(seen);
        }
      });
    });
    const header = { msg_id: msgId, msg_type: msgType, session: this.session, username: 'test', date: new Date().toISOString(), version: '5.3' };
    await this.shell.send(encodeMessage({ identities: [], header, parentHeader: {}, metadata: {}, content, buffers }, this.key));
    return done;
  }

  /** Runs a cell; throws with the traceback when it fails. */
  async execute(code: string): Promise<KernelMessage[]> {
    const messages = await this.request('execute_request', {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    const error = messages.find((m) => m.header.msg_type === 'error');
    if (error) throw new Error(`cell failed: ${error.content.ename}: ${error.content.evalue}\n${(error.content.traceback as string[]).join('\n')}`);
    return messages;
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.process.kill();
    this.shell.close();
    this.iopub.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
