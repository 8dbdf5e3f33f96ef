/** Small DOM helpers for the viewers' control bars. */
export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.append(text, control);
  return label;
}

export function select(name: string, onChange: (value: string) => void): HTMLSelectElement {
  const el = document.createElement('select');
  el.name = name;
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

/** Replace a select's options (value, label) and select `selected`; hides the select's label when only one option exists. */
export function setOptions(el: HTMLSelectElement, options: Array<[string, string]>, selected: string): void {
  const same = el.options.length === options.length && options.every(([v, l], i) => el.options[i].value === v && el.options[i].text === l);
  if (!same) {
    el.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  }
  el.value = selected;
  const label = el.parentElement;
  if (label) label.style.display = options.length > 1 ? '' : 'none';
}

export function numberInput(name: string, onChange: (value: number) => void): HTMLInputElement {
  const el = document.createElement('input');
  el.type = 'number';
  el.name = name;
  el.min = '0';
  el.addEventListener('change', () => {
    const v = Number(el.value);
    if (Number.isFinite(v) && v >= 0) onChange(v);
  });
  return el;
}

/** A slider whose values are rounded to 3 significant digits, so the number box beside it shows the same. */
export function rangeInput(name: string, onInput: (value: number) => void): HTMLInputElement {
  const el = document.createElement('input');
  el.type = 'range';
  el.name = name;
  el.min = '0';
  el.step = 'any';
  el.addEventListener('input', () => onInput(Number(Number(el.value).toPrecision(3))));
  return el;
}

/**
 * Shows `threshold` in its number box and slider alike: the slider reaches at least the threshold
 * (a typed value above the colour range does not pin it at its end) and moves freely (no step grid
 * to snap to a value the box does not show).
 */
export function syncThreshold(box: HTMLInputElement, slider: HTMLInputElement, threshold: number, vmax: number): void {
  box.step = String(Number((vmax / 100).toPrecision(2)));
  box.value = String(threshold);
  slider.max = String(Math.max(vmax, threshold));
  slider.value = String(threshold);
}

/** A number with four significant digits, as shown in status lines and colorbars. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}
