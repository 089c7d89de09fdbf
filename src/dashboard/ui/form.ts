/** A labelled form whose submit runs an action and shows its outcome (or its error) in place. */
import { type El, h } from './dom.js';

export interface FormSpec {
  label: string;
  heading: string;
  /** Each field with its id (the label points at it) and label text; or any other element. */
  fields: ([id: string, text: string, field: El] | El)[];
  submit: string;
  /** Resolves with the text to show; a rejection shows its message. */
  action: () => Promise<string | undefined>;
  /** Where the outcome is shown (default: a paragraph after the button). */
  outcome?: El;
}

export function form(spec: FormSpec): El {
  const outcome = spec.outcome ?? h('p', { role: 'status' });
  const show = (text: string | undefined) => {
    if (text !== undefined) outcome.textContent = text;
  };
  return h(
    'form',
    {
      class: 'card',
      'aria-label': spec.label,
      onsubmit: (e) => {
        e.preventDefault();
        spec.action().then(show, (err: Error) => show(err.message));
      },
    },
    h('h3', {}, spec.heading),
    spec.fields.flatMap((f) => (Array.isArray(f) ? [h('label', { for: f[0] }, f[1]), f[2]] : [f])),
    h('button', { type: 'submit' }, spec.submit),
    spec.outcome ? h('p', {}, 'Value: ', outcome) : outcome,
  );
}

/** A table with a header row. */
export const table = (cols: string[], rows: El[]): El =>
  h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h('tbody', {}, rows),
  );
