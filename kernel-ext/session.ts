/**
 * Sending messages with the right parent header. Every incoming shell/control message runs inside
 * `requestContext`, an AsyncLocalStorage that follows the work it starts (tslab's execution queue,
 * awaits and timers in cells, comm callbacks), so outputs published from there name it as parent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { BinaryData, toBytes } from '../src/display/widget-host';
import { ErrorContent } from './traceback';
import { KernelMessage, encodeMessage } from './wire';

export interface RequestContext {
  request: KernelMessage;
  /** Why the cell failed, when it threw (execute requests). */
  failure?: ErrorContent;
  /** TypeScript diagnostics tslab reported for the cell. */
  diagnostics: string[];
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export interface MessageSocket {
  send(frames: Buffer[]): Promise<void>;
}

export interface SendOptions {
  metadata?: Record<string, unknown>;
  buffers?: BinaryData[];
  /** The request the message answers; defaults to the one being handled. */
  parent?: KernelMessage;
}

/** The kernel's own stderr (the Jupyter server log); tslab redirects process.stderr into cells. */
const terminalWrite = process.stderr.write.bind(process.stderr);

export function logToTerminal(text: string): void {
  terminalWrite(`[neurolmm kernel] ${text}\n`);
}

export class Session {
  readonly id = randomUUID();
  /** The last send on each socket: zeromq.js allows one send in flight per socket, so sends queue. */
  private readonly lastSend = new Map<MessageSocket, Promise<void>>();

  constructor(
    private readonly key: string,
    private readonly iopub: MessageSocket,
  ) {}

  private message(msgType: string, content: unknown, options: SendOptions): KernelMessage<unknown> {
    const request = options.parent ?? requestContext.getStore()?.request;
    return {
      identities: [],
      header: {
        msg_id: randomUUID(),
        msg_type: msgType,
        session: this.id,
        username: 'kernel',
        date: new Date().toISOString(),
        version: '5.3',
      },
      parentHeader: request?.header ?? {},
      metadata: options.metadata ?? {},
      content,
      buffers: (options.buffers ?? []).map(toBytes),
    };
  }

  /** Sends after the socket's previous message; failures only reach the log. */
  private send(socket: MessageSocket, message: KernelMessage<unknown>): Promise<void> {
    const frames = encodeMessage(message, this.key);
    const sent = (this.lastSend.get(socket) ?? Promise.resolve())
      .then(() => socket.send(frames))
      .catch((error: Error) => logToTerminal(`send of ${message.header.msg_type} failed: ${error.message}`));
    this.lastSend.set(socket, sent);
    return sent;
  }

  /** An IOPub message whose parent is the request being handled. */
  publish(msgType: string, content: unknown, options: SendOptions = {}): void {
    this.send(this.iopub, this.message(msgType, content, options));
  }

  /** A shell/control reply routed back to the sender of `request`; resolves once sent. */
  reply(socket: MessageSocket, request: KernelMessage, msgType: string, content: unknown): Promise<void> {
    const message = this.message(msgType, content, { parent: request });
    message.identities = request.identities;
    return this.send(socket, message);
  }
}
