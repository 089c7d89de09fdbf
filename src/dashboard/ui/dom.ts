/**
 * The part of the browser the UI touches, declared here. The repository's tsconfig has no
 * lib.dom, on purpose: Node code must not see browser globals. These declarations are
 * module-scoped, so tsc checks the UI against them without adding anything to the global scope;
 * esbuild bundles the UI for the browser, where they are the real objects.
 */
export interface El {
  textContent: string | null;
  hidden: boolean;
  readonly firstChild: El | null;
  append(...nodes: (El | string)[]): void;
  replaceChildren(...nodes: (El | string)[]): void;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  getAttribute(name: string): string | null;
  addEventListener(type: string, f: (e: Ev) => void): void;
  querySelectorAll(selector: string): ArrayLike<El>;
  focus(): void;
}
/** An input, a textarea or a select. */
export interface Field extends El {
  value: string;
}
export interface Ev {
  preventDefault(): void;
  key?: string;
}
interface Doc {
  createElement(tag: string): El;
  createElementNS(ns: string, tag: string): El;
  readonly body: El;
  readonly activeElement: El | null;
  title: string;
}
interface Win {
  addEventListener(type: string, f: () => void): void;
  location: { hash: string };
}
export interface EvSource {
  addEventListener(type: string, f: (e: { data: string }) => void): void;
  close(): void;
}

declare const document: Doc;
declare const window: Win;
declare const EventSource: new (url: string) => EvSource;

export const win = (): Win => window;
export const doc = (): Doc => document;
export const events = (url: string): EvSource => new EventSource(url);

type Child = El | string | false | undefined | null;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Ev) => void)>;

/** An element with attributes (`on…` are listeners; false/undefined are left out) and children. */
export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): El {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v !== undefined) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}

/** A small SVG line chart of a series (no axes: the latest value is printed beside it). */
export function sparkline(values: number[], label: string): El {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 120 30');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? 120 / (values.length - 1) : 0;
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute(
    'points',
    values.map((v, i) => `${(i * step).toFixed(1)},${(29 - (v / max) * 28).toFixed(1)}`).join(' '),
  );
  svg.append(line);
  return svg;
}
