/**
 * Rich display without the kernel: anything with `toMimeBundle()` (and danfojs frames, duck-typed)
 * turns into a Jupyter MIME bundle. Inside the neurolmm kernel, `display()` publishes display_data;
 * elsewhere it prints the text/plain form.
 */
import { inspect } from 'node:util';
import { dataFrameBundle, isDataFrameLike } from './dataframe';
import { processSingleton } from './registry';

/** MIME type -> data; binary data (Uint8Array) is sent base64-encoded. */
export type MimeBundle = Record<string, unknown>;

export interface MimeBundleProvider {
  toMimeBundle(): MimeBundle;
}

export function isMimeBundleProvider(value: unknown): value is MimeBundleProvider {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as Partial<MimeBundleProvider>).toMimeBundle === 'function'
  );
}

/** The text/plain form of a value that has no richer representation (Node's REPL style). */
export function plainText(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: 100 });
}

/** The bundle Jupyter shows for `value`; text/plain is always present, binary data is base64. */
export function mimeBundleOf(value: unknown): MimeBundle {
  let bundle: MimeBundle;
  if (isMimeBundleProvider(value)) {
    bundle = { ...value.toMimeBundle() };
    bundle['text/plain'] ??= inspect(value, { depth: 0 });
  } else if (isDataFrameLike(value)) {
    bundle = dataFrameBundle(value);
  } else {
    bundle = { 'text/plain': plainText(value) };
  }
  for (const [type, data] of Object.entries(bundle)) {
    if (data instanceof Uint8Array) bundle[type] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  }
  return bundle;
}

export interface DisplayOptions {
  /** Names the output so later displays with `update: true` replace it (progress, live plots). */
  displayId?: string;
  update?: boolean;
  metadata?: Record<string, unknown>;
}

/** Receives bundles from `display()`; the kernel registers one at start. */
export type DisplayPublisher = (bundle: MimeBundle, options: DisplayOptions) => void;

const displayRegistry = processSingleton('display', () => ({ publisher: undefined as DisplayPublisher | undefined }));

export function setDisplayPublisher(publisher: DisplayPublisher | undefined): void {
  displayRegistry.publisher = publisher;
}

/** Shows `value` in the notebook (display_data), or prints its text/plain form outside Jupyter. */
export function display(value: unknown, options: DisplayOptions = {}): void {
  const bundle = mimeBundleOf(value);
  if (displayRegistry.publisher) displayRegistry.publisher(bundle, options);
  else console.log(bundle['text/plain']);
}

/** The cell execution a display belongs to, as the kernel knows it: the notebook's cell id (when the
 * frontend sends one) and the execute request. */
export interface CellExecution {
  cellId?: string;
  requestId: string;
}

const cellRegistry = processSingleton('cellExecution', () => ({ current: undefined as (() => CellExecution | undefined) | undefined }));

/** The kernel registers where the current cell execution comes from. */
export function setCellExecutionSource(source: (() => CellExecution | undefined) | undefined): void {
  cellRegistry.current = source;
}

/** The cell execution being run, or undefined outside the kernel or outside a cell. */
export function currentCellExecution(): CellExecution | undefined {
  return cellRegistry.current?.();
}
