/** The viewers' CSS, injected once per document (no CSS loader needed in any of the bundles). */
const CSS = `
.neurolmm-viewer { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
.neurolmm-controls { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; padding: 4px 0 6px; }
.neurolmm-controls label { display: inline-flex; gap: 4px; align-items: center; }
.neurolmm-controls select, .neurolmm-controls input[type=number] { font: inherit; padding: 1px 2px; }
.neurolmm-controls input[type=number] { width: 6em; }
.neurolmm-controls input[type=range] { width: 9em; }
.neurolmm-cameras { display: inline-flex; gap: 2px; }
.neurolmm-cameras button { font: inherit; padding: 1px 6px; cursor: pointer; }
.neurolmm-cameras button.active { font-weight: 600; background: #dde6f3; }
.neurolmm-title { font-weight: 600; padding-bottom: 2px; }
.neurolmm-status { min-height: 1.4em; color: #444; font-variant-numeric: tabular-nums; }
.neurolmm-slices { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; background: #000; padding: 6px; }
.neurolmm-slices canvas { cursor: crosshair; display: block; }
.neurolmm-colorbar { display: flex; align-items: center; gap: 6px; padding-top: 4px; font-variant-numeric: tabular-nums; }
`;

export function injectStyle(doc: Document = document): void {
  if (doc.getElementById('neurolmm-widgets-style')) return;
  const style = doc.createElement('style');
  style.id = 'neurolmm-widgets-style';
  style.textContent = CSS;
  doc.head.appendChild(style);
}
