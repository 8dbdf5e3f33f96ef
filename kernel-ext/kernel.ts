/**
 * tslab's kernel with neurolmm's extensions, built by composition from tslab 1.0.x's own parts
 * (createConverter, createExecutor, JupyterHandlerImpl, ZmqServer), the way tslab's startKernel
 * assembles them, with these hooks:
 * - the executor's console: its `log` receives a cell's last value (published as execute_result
 *   with a rich MIME bundle instead of printed text), its `error` receives what a cell threw and
 *   TypeScript diagnostics (published as a clean `error` output and error reply);
 * - ZmqServer.handleShellMessage (subclass): authenticates messages per the Jupyter spec (HMAC over
 *   the four JSON frames), runs each inside a request context (parent headers) and answers every
 *   request exactly once through the session (comms, history and is_complete here, execute,
 *   complete and inspect computed by tslab's handler); tslab's server only opens the sockets;
 * - JupyterHandlerImpl.handleExecute/handleKernel (subclass): error details in execute_reply,
 *   'aborted' status, kernel info naming neurolmm;
 * - a virtual module in tslab's TypeScript program declaring the cell globals;
 * - the module name "neurolmm" mapped to this package (library-module.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import type { Router } from 'zeromq';
import { Converter, createConverter } from 'tslab/dist/converter';
import { ConsoleInterface, ConverterSet, Executor, createExecutor } from 'tslab/dist/executor';
import { ExecuteReply, JupyterHandlerImpl, ZmqServer } from 'tslab/dist/jupyter';
import { versions } from 'tslab';
import { display, mimeBundleOf, plainText, setCellExecutionSource, setDisplayPublisher } from '../src/display/mime';
import { setPlotlyInlining } from '../src/display/plotly';
import { CellGlobals, cellGlobalsDeclaration, installCellGlobals } from './cell-globals';
import { CommManager } from './comm';
import { mapLibraryModule } from './library-module';
import { MessageSocket, Session, logToTerminal, requestContext } from './session';
import { describeDiagnostics, describeError } from './traceback';
import { History, HistoryRequest } from './history';
import { isComplete } from './is-complete';
import { KernelMessage, decodeMessage } from './wire';
import { installWidgets } from './widgets';

/** Name of the virtual module (in tslab's program) that declares the cell globals. */
const GLOBALS_MODULE = '__neurolmm_globals__';

function neurolmmVersion(): string {
  const packageJson = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/** tslab's converters, created lazily like tslab does; the Node one also knows the cell globals. */
class Converters implements ConverterSet {
  private nodeConverter?: Converter;
  private browserConverter?: Converter;

  constructor(private readonly globalsDeclaration: string) {}

  get node(): Converter {
    if (!this.nodeConverter) {
      this.nodeConverter = createConverter({ isJS: false, isBrowser: false });
      for (const d of this.nodeConverter.addModule(GLOBALS_MODULE, this.globalsDeclaration)) {
        logToTerminal(`cell globals declaration: ${d.messageText}`);
      }
    }
    return this.nodeConverter;
  }

  get browser(): Converter {
    this.browserConverter ??= createConverter({ isJS: false, isBrowser: true });
    return this.browserConverter;
  }

  close(): void {
    this.nodeConverter?.close();
    this.browserConverter?.close();
  }
}

type ExecuteArgs = Parameters<JupyterHandlerImpl['handleExecute']>;
type CompleteArgs = Parameters<JupyterHandlerImpl['handleComplete']>;
type InspectArgs = Parameters<JupyterHandlerImpl['handleInspect']>;
type KernelInfo = ReturnType<JupyterHandlerImpl['handleKernel']>;

class NeurolmmHandler extends JupyterHandlerImpl {
  constructor(
    executor: Executor,
    private readonly session: Session,
    history: History,
  ) {
    super(executor, false);
    // tslab never announces a cell on IOPub; the spec's execute_input carries the code and the
    // count the cell runs as (tslab increments it just before calling the executor)
    const execute = executor.execute.bind(executor);
    executor.execute = (code: string) => {
      const content = requestContext.getStore()?.request?.content as { silent?: boolean; store_history?: boolean } | undefined;
      const count = this.executionCount;
      if (!content?.silent) this.session.publish('execute_input', { code, execution_count: count });
      if (!content?.silent && content?.store_history !== false && count !== null) history.record(count, code);
      return execute(code);
    };
    // After an error tslab aborts every execute request arriving within 200 ms (ones still in
    // flight from "run all"). A request sent with stop_on_error=false (nbclient's allow_errors)
    // must not abort the next one.
    const queue = (this as unknown as { execQueue?: { reset?: (delay?: number) => void } }).execQueue;
    if (queue?.reset) {
      const reset = queue.reset.bind(queue);
      queue.reset = (delay) => {
        const request = requestContext.getStore()?.request;
        reset((request?.content as { stop_on_error?: boolean } | undefined)?.stop_on_error === false ? undefined : delay);
      };
    }
  }

  /** tslab's count of executed cells (a private field of JupyterHandlerImpl in 1.0.x). */
  get executionCount(): number | null {
    const count = (this as unknown as { execCount?: unknown }).execCount;
    return typeof count === 'number' ? count : null;
  }

  override handleKernel(): KernelInfo {
    const info = super.handleKernel();
    return {
      ...info,
      implementation: 'neurolmm',
      implementation_version: neurolmmVersion(),
      language_info: { ...info.language_info, version: versions.typescript },
      banner: `neurolmm: TypeScript ${versions.typescript} (tslab ${versions.tslab}) with rich display, comms and widgets`,
    };
  }

  override async handleExecute(...args: ExecuteArgs): Promise<ExecuteReply> {
    const reply = await super.handleExecute(...args);
    const context = requestContext.getStore();
    if (!context) return reply;
    if (reply.status === 'error') {
      const failure =
        context.failure ?? (context.diagnostics.length > 0 ? describeDiagnostics(context.diagnostics) : describeError(new Error('the cell failed')));
      this.session.publish('error', failure);
      return { ...reply, ...failure };
    }
    // Module cells (//%module) register even with diagnostics; show them as warnings.
    if (context.diagnostics.length > 0) process.stderr.write(`${context.diagnostics.join('\n')}\n`);
    // tslab says 'abort' for requests skipped after an error; the spec's value is 'aborted'.
    return reply.status === 'abort' ? { ...reply, status: 'aborted' } : reply;
  }
}

/**
 * Answers every shell and control request itself, exactly once, through the session's queued
 * sockets (tslab's server sends without waiting and drops replies under bursts, has no
 * history_request, and its kernel_info/shutdown replies lack `status`); tslab's handler computes
 * the execute, complete and inspect replies. tslab's server only opens the sockets (init).
 */
class NeurolmmServer extends ZmqServer {
  constructor(
    private readonly neurolmmHandler: NeurolmmHandler,
    connectionFile: string,
    private readonly key: string,
    private readonly session: Session,
    private readonly comms: CommManager,
    private readonly history: History,
    private readonly interrupt: () => void,
  ) {
    super(neurolmmHandler, connectionFile);
  }

  override async handleShellMessage(socket: Router, ...frames: Buffer[]): Promise<void> {
    let request;
    try {
      request = decodeMessage(frames, this.key);
    } catch (error) {
      logToTerminal(`dropped a message: ${(error as Error).message}`);
      return;
    }
    const msgType = request.header.msg_type;
    const replySocket = socket as unknown as MessageSocket;
    await requestContext.run({ request, diagnostics: [] }, async () => {
      this.session.publish('status', { execution_state: 'busy' });
      try {
        if (CommManager.handles(msgType)) await this.comms.handle(request, replySocket);
        else {
          const content = await this.answer(request);
          if (content === undefined) logToTerminal(`no handler for ${msgType}; ignored`);
          else await this.session.reply(replySocket, request, msgType.replace(/_request$/, '_reply'), content);
        }
      } finally {
        this.session.publish('status', { execution_state: 'idle' });
      }
    });
    if (msgType === 'shutdown_request') {
      this.close();
      // user timers must not keep the process alive
      setTimeout(() => process.exit(0), 100).unref();
    }
  }

  /** The reply content for a request other than comm messages; undefined for an unknown type. */
  private async answer(request: KernelMessage): Promise<unknown> {
    const content = request.content as Record<string, unknown>;
    switch (request.header.msg_type) {
      case 'kernel_info_request':
        return { status: 'ok', ...this.neurolmmHandler.handleKernel() };
      case 'execute_request':
        return this.neurolmmHandler.handleExecute(
          content as unknown as ExecuteArgs[0],
          (name, text) => this.session.publish('stream', { name, text }, { parent: request }),
          (data, update) => this.session.publish(update ? 'update_display_data' : 'display_data', data, { parent: request }),
        );
      case 'is_complete_request':
        return isComplete(String(content.code));
      case 'complete_request':
        return this.neurolmmHandler.handleComplete(content as unknown as CompleteArgs[0]);
      case 'inspect_request':
        return this.neurolmmHandler.handleInspect(content as unknown as InspectArgs[0]);
      case 'history_request':
        return { status: 'ok', history: this.history.answer(content as HistoryRequest) };
      case 'interrupt_request':
        this.interrupt();
        return { status: 'ok' };
      case 'shutdown_request':
        return { status: 'ok', restart: content.restart === true };
      default:
        return undefined;
    }
  }
}

/** Fails loudly if a tslab release no longer has the methods the hooks above override. */
function checkTslabHooks(): void {
  const hooks: [string, unknown][] = [
    ['ZmqServer.handleShellMessage', ZmqServer.prototype.handleShellMessage],
    ['ZmqServer.init', ZmqServer.prototype.init],
    ['JupyterHandlerImpl.handleExecute', JupyterHandlerImpl.prototype.handleExecute],
    ['JupyterHandlerImpl.handleKernel', JupyterHandlerImpl.prototype.handleKernel],
  ];
  const missing = hooks.filter(([, method]) => typeof method !== 'function').map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(`tslab ${versions.tslab} lacks ${missing.join(', ')}; the neurolmm kernel needs tslab 1.0.x`);
  }
}

/** Starts the kernel for a Jupyter connection file. */
export async function startKernel(connectionFile: string): Promise<void> {
  checkTslabHooks();
  const { key } = JSON.parse(readFileSync(connectionFile, 'utf8')) as { key: string };
  // The server creates its IOPub socket in init(); nothing is published before that.
  const iopub: MessageSocket = { send: (frames) => server.iopub.send(frames) };
  const session = new Session(key, iopub);
  const comms = new CommManager(session);
  const globals: CellGlobals = { display, widgets: installWidgets(comms), comms };

  const executorConsole: ConsoleInterface = {
    // tslab passes a cell's last value here (when it is not null/undefined).
    log: (value: unknown) => publishResult(value),
    // ... and here what a cell threw (one argument) or its diagnostics (a format string).
    error: (...args: unknown[]) => {
      const context = requestContext.getStore();
      if (!context) logToTerminal(format(...args));
      else if (args.length === 1) context.failure = describeError(args[0]);
      else context.diagnostics.push(format(...args));
    },
  };
  mapLibraryModule();
  const converters = new Converters(cellGlobalsDeclaration(globals));
  void converters.node; // compile the TypeScript program before the first cell, like tslab
  const executor = createExecutor(process.cwd(), converters, executorConsole);
  const history = new History();
  const handler = new NeurolmmHandler(executor, session, history);
  const server = new NeurolmmServer(handler, connectionFile, key, session, comms, history, () => executor.interrupt());

  function publishResult(value: unknown): void {
    const request = requestContext.getStore()?.request;
    if (!request || (request.content as { silent?: boolean }).silent) return;
    let data;
    try {
      data = mimeBundleOf(value);
    } catch (error) {
      process.stderr.write(`display failed: ${describeError(error).traceback.join('\n')}\n`);
      data = { 'text/plain': plainText(value) };
    }
    const count = handler.executionCount;
    if (count !== null) history.recordOutput(count, String(data['text/plain']));
    session.publish('execute_result', { execution_count: count, data, metadata: {} });
  }

  setDisplayPublisher((bundle, options) => {
    const content = {
      data: bundle,
      metadata: options.metadata ?? {},
      transient: options.displayId === undefined ? {} : { display_id: options.displayId },
    };
    session.publish(options.update ? 'update_display_data' : 'display_data', content);
  });
  installCellGlobals(globals);
  // Outputs know their cell (JupyterLab sends its id): plotly.js goes into a notebook once.
  setCellExecutionSource(() => {
    const request = requestContext.getStore()?.request;
    if (request?.header.msg_type !== 'execute_request') return undefined;
    const cellId = request.metadata.cellId;
    return { cellId: typeof cellId === 'string' ? cellId : undefined, requestId: request.header.msg_id };
  });
  setPlotlyInlining('first-output');

  // Interrupts (interrupt_mode "signal") work as in tslab: SIGINT rejects the awaited promise of a
  // cell (the awaited work itself keeps running in the background), and vm's breakOnSigint stops
  // synchronous top-level code such as `while (true) {}`. Synchronous work running after an await
  // or in a callback blocks the event loop and cannot be interrupted; only a restart ends it.
  // Errors escaping cells must not end the kernel.
  process.on('SIGINT', () => executor.interrupt());
  process.on('uncaughtException', (error) => console.error('Uncaught exception:', error));
  process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
  await server.init();
}
