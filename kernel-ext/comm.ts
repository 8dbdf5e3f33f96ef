/**
 * Jupyter comms (custom messages), the part tslab lacks. Modelled on the CommManager of
 * jupyterlite's JavaScript kernel:
 *
 *   comms.registerTarget('my.target', (comm, data, buffers) => {     // frontend opens a comm
 *     comm.onMsg((data, buffers) => comm.send({ echo: data }, { buffers }));
 *     comm.onClose((data) => ...);
 *   });
 *   const comm = comms.open('my.target', { hello: 1 }, { buffers: [bytes] });  // kernel opens one
 *   comm.send(data, { metadata, buffers }); comm.close();
 *
 * Kernel-to-frontend messages go out on IOPub with the request being handled as parent; buffers
 * travel as binary frames. A comm_open for an unknown target is answered with comm_close.
 */
import { randomUUID } from 'node:crypto';
import { MessageSocket, Session, SendOptions, logToTerminal } from './session';
import { describeError } from './traceback';
import { KernelMessage } from './wire';

export type CommMessageHandler = (data: unknown, buffers: Uint8Array[], message: KernelMessage) => void | Promise<void>;
/** Runs once when the comm closes, from either side; `message` is the frontend's comm_close if it closed it. */
export type CommCloseHandler = (data: unknown, buffers: Uint8Array[], message?: KernelMessage) => void;
export type CommTargetHandler = (comm: Comm, data: unknown, buffers: Uint8Array[], message: KernelMessage) => void | Promise<void>;

export interface OpenOptions extends SendOptions {
  /** Defaults to a fresh UUID; widgets use their model id. */
  commId?: string;
}

/** What cells and library code use (the `comms` global). */
export interface CommsApi {
  registerTarget(targetName: string, handler: CommTargetHandler): void;
  unregisterTarget(targetName: string): void;
  open(targetName: string, data?: unknown, options?: OpenOptions): Comm;
}

export class Comm {
  private readonly messageHandlers = new Set<CommMessageHandler>();
  private readonly closeHandlers = new Set<CommCloseHandler>();
  private closed = false;

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly manager: CommManager,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: unknown, options: SendOptions = {}): void {
    if (this.closed) throw new Error(`comm ${this.commId} (${this.targetName}) is closed`);
    this.manager.session.publish('comm_msg', { comm_id: this.commId, data }, options);
  }

  /** Closes the comm and tells the frontend. */
  close(data: unknown = {}, options: SendOptions = {}): void {
    if (this.closed) return;
    this.manager.session.publish('comm_close', { comm_id: this.commId, data }, options);
    this.closedBy(data, []);
  }

  onMsg(handler: CommMessageHandler): void {
    this.messageHandlers.add(handler);
  }

  onClose(handler: CommCloseHandler): void {
    this.closeHandlers.add(handler);
  }

  /** @internal a comm_msg from the frontend */
  async receive(message: KernelMessage): Promise<void> {
    for (const handler of [...this.messageHandlers]) await handler(message.content.data, message.buffers, message);
  }

  /** @internal */
  closedBy(data: unknown, buffers: Uint8Array[], message?: KernelMessage): void {
    this.closed = true;
    this.manager.forget(this.commId);
    for (const handler of [...this.closeHandlers]) handler(data, buffers, message);
  }
}

const COMM_MESSAGE_TYPES = new Set(['comm_open', 'comm_msg', 'comm_close', 'comm_info_request']);

export class CommManager implements CommsApi {
  private readonly targets = new Map<string, CommTargetHandler>();
  private readonly comms = new Map<string, Comm>();

  constructor(readonly session: Session) {}

  static handles(msgType: string): boolean {
    return COMM_MESSAGE_TYPES.has(msgType);
  }

  registerTarget(targetName: string, handler: CommTargetHandler): void {
    this.targets.set(targetName, handler);
  }

  unregisterTarget(targetName: string): void {
    this.targets.delete(targetName);
  }

  open(targetName: string, data: unknown = {}, options: OpenOptions = {}): Comm {
    const comm = new Comm(options.commId ?? randomUUID(), targetName, this);
    this.comms.set(comm.commId, comm);
    this.session.publish('comm_open', { comm_id: comm.commId, target_name: targetName, data }, options);
    return comm;
  }

  /** @internal */
  forget(commId: string): void {
    this.comms.delete(commId);
  }

  /** Handles one comm message from the frontend (status busy/idle is the caller's job). */
  async handle(request: KernelMessage, socket: MessageSocket): Promise<void> {
    const content = request.content as { comm_id?: string; target_name?: string; data?: unknown };
    try {
      switch (request.header.msg_type) {
        case 'comm_info_request':
          return this.replyCommInfo(request, socket, content.target_name);
        case 'comm_open':
          return await this.opened(request, String(content.comm_id), String(content.target_name));
        case 'comm_msg':
          return await this.commFor(content.comm_id, 'comm_msg')?.receive(request);
        case 'comm_close':
          return this.commFor(content.comm_id, 'comm_close')?.closedBy(content.data, request.buffers, request);
      }
    } catch (error) {
      // Like ipykernel: a failing handler must not take the kernel down; the traceback goes to
      // stderr with the comm message as parent (JupyterLab shows it in the log console).
      const { traceback } = describeError(error);
      this.session.publish('stream', { name: 'stderr', text: `Error in ${request.header.msg_type} handler:\n${traceback.join('\n')}\n` });
      logToTerminal(`${request.header.msg_type} handler failed: ${traceback.join('\n')}`);
    }
  }

  private replyCommInfo(request: KernelMessage, socket: MessageSocket, targetName?: string): void {
    const comms: Record<string, { target_name: string }> = {};
    for (const comm of this.comms.values()) {
      if (targetName === undefined || comm.targetName === targetName) comms[comm.commId] = { target_name: comm.targetName };
    }
    this.session.reply(socket, request, 'comm_info_reply', { status: 'ok', comms });
  }

  private async opened(request: KernelMessage, commId: string, targetName: string): Promise<void> {
    const comm = new Comm(commId, targetName, this);
    this.comms.set(commId, comm);
    const handler = this.targets.get(targetName);
    if (!handler) {
      logToTerminal(`comm_open for unknown target '${targetName}'; closing the comm`);
      comm.close();
      return;
    }
    try {
      await handler(comm, request.content.data, request.buffers, request);
    } catch (error) {
      comm.close();
      throw error;
    }
  }

  private commFor(commId: unknown, msgType: string): Comm | undefined {
    const comm = this.comms.get(String(commId));
    if (!comm) logToTerminal(`${msgType} for unknown comm '${String(commId)}'`);
    return comm;
  }
}
