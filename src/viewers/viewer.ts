/**
 * What the surface and volume viewers share, kernel-side: their widget spec, the live widget made from
 * it on first display in a notebook (through the kernel's widget host), click callbacks, state updates,
 * and `toHTML` for a standalone page.
 */
import * as fs from 'fs';
import { MimeBundle } from '../display/mime';
import { Widget, createWidget } from '../display/widget-host';
import { WidgetSpec, useEmbedBundleForHostlessWidgets, widgetHtml } from './widget-state';

export type ClickListener<C> = (click: C) => void;

export abstract class WidgetViewer<State extends object, Click> {
  private live: Widget | null = null;
  private readonly clickListeners: Array<ClickListener<Click>> = [];

  protected constructor(protected state: State) {}

  /** The protocol description of the widget: model/view names, JSON state and binary buffers. */
  abstract spec(): WidgetSpec;

  /** A short description for text-only front-ends. */
  abstract describe(): string;

  /** Turns a click message of the front-end into what click listeners receive. */
  protected abstract parseClick(content: Record<string, unknown>): Click | null;

  /** The current value of a synced control (the front-end's, once the widget is live). */
  get<K extends keyof State>(key: K): State[K] {
    return this.state[key];
  }

  /**
   * Change controls (threshold, statistic, volume, ...); a live widget updates at once, in place.
   * Returns nothing, so a cell ending in `viewer.set(...)` does not show the viewer again.
   */
  set(changes: Partial<State>): void {
    this.state = { ...this.state, ...changes };
    this.live?.set(changes);
  }

  /** Called with each click on the brain (a vertex or a voxel) in the live widget. */
  on(event: 'click', listener: ClickListener<Click>): this {
    if (event !== 'click') throw new TypeError(`unknown viewer event '${event as string}' (known: click)`);
    this.clickListeners.push(listener);
    return this;
  }

  /** Delivers a front-end message; public so that tests and other front-ends can drive the viewer. */
  handleMessage(content: Record<string, unknown>): void {
    if (content?.event !== 'click') return;
    const click = this.parseClick(content);
    if (click) for (const listener of this.clickListeners) listener(click);
  }

  /** Writes one self-contained HTML file (Plotly and the widget code inlined, no network needed). */
  toHTML(path: string): string {
    fs.writeFileSync(path, widgetHtml(this.spec(), this.describe()));
    return path;
  }

  /**
   * The notebook display: a view of the live widget (created on first display, reused after; in the
   * neurolmm kernel it is mirrored by the front-end through a comm, elsewhere it renders from its
   * embedded state). The front-end's control changes flow back into `get()`.
   */
  toMimeBundle(): MimeBundle {
    if (!this.live || this.live.isClosed) {
      useEmbedBundleForHostlessWidgets();
      const live = createWidget(this.spec());
      live.onCustom((content) => this.handleMessage((content ?? {}) as Record<string, unknown>));
      live.on('change', (changes) => {
        const known = Object.entries(changes).filter(([key]) => key in this.state);
        if (known.length) this.state = { ...this.state, ...Object.fromEntries(known) };
      });
      this.live = live;
    }
    return { ...this.live.toMimeBundle(), 'text/plain': this.describe() };
  }

  /** Closes the live widget, if any (its views disappear from the notebook). */
  close(): void {
    this.live?.close();
    this.live = null;
  }
}
