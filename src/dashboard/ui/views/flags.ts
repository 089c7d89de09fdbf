/**
 * Feature flags: each flag's type, default, rules and rollout; an "evaluate for" box that asks
 * the server's flags reader (the SDK's own evaluation); with --allow-writes, an editor whose
 * document the server validates with the recipe's validation before storing it.
 */
import type { FlagView } from '../../model/flags.js';
import type { DashboardState } from '../../model/state.js';
import { getJSON, send } from '../api.js';
import { type El, type Field, h } from '../dom.js';
import { form, table } from '../form.js';
import { empty, section } from './common.js';

// Shown as stored: the rule and rollout shapes are the recipe's to grow, the page just prints them.
const rules = (f: FlagView): string =>
  (f.definition?.rules ?? []).map((r) => JSON.stringify(r)).join('\n') || '–';
const rollout = (f: FlagView): string => (f.definition?.rollout ? JSON.stringify(f.definition.rollout) : '–');

export function flagsView(state: DashboardState): El {
  const title = `Flags under ${state.layout.flagsPrefix}`;
  if (state.flags.length === 0) return section(title, empty('No flag is defined.'));
  const row = (f: FlagView) =>
    h(
      'tr',
      { 'data-flag': f.name },
      h(
        'td',
        {},
        h('code', {}, f.name),
        f.definition?.description && h('p', { class: 'muted' }, f.definition.description),
      ),
      f.definition
        ? [
            h('td', {}, f.definition.type),
            h('td', { 'data-default': '' }, h('code', {}, f.fallback)),
            h('td', {}, f.definition.enabled === false ? 'no' : 'yes'),
            h('td', {}, h('pre', {}, rules(f))),
            h('td', {}, h('code', {}, rollout(f))),
          ]
        : h('td', { colspan: 5, class: 'bad' }, `invalid: ${f.problems.join('; ')}`),
      h('td', {}, f.modRevision),
    );
  const cols = ['flag', 'type', 'default', 'enabled', 'rules', 'rollout', 'revision'];
  return section(title, table(cols, state.flags.map(row)));
}

/** The evaluate box and the editor: built once per visit, so what is typed survives updates. */
export function flagsPanel(state: () => DashboardState): El {
  const name = h('input', { id: 'flag-name', autocomplete: 'off', required: true }) as Field;
  const ctx = h('textarea', { id: 'flag-context', rows: 3 }, '{"targetingKey": "user-1"}') as Field;
  const evaluate = form({
    label: 'Evaluate a flag',
    heading: 'Evaluate for a context',
    fields: [
      ['flag-name', 'Flag', name],
      ['flag-context', 'Context (JSON)', ctx],
    ],
    submit: 'Evaluate',
    outcome: h('output', { id: 'flag-result', for: 'flag-name flag-context' }),
    action: async () => {
      const r = await getJSON<Evaluation>(
        `/api/flags/evaluate?${new URLSearchParams({ name: name.value, context: ctx.value })}`,
      );
      if (r.error) return r.error;
      const why = [r.reason, r.variant, r.errorMessage].filter(Boolean).join(', ');
      return `${JSON.stringify(r.value)} (${why})`;
    },
  });
  if (!state().writable) return h('div', {}, evaluate);

  const editName = h('input', { id: 'edit-name', autocomplete: 'off', required: true }) as Field;
  const doc = h('textarea', { id: 'edit-document', rows: 8, spellcheck: false }) as Field;
  const load = () => {
    const f = state().flags.find((x) => x.name === editName.value);
    doc.value = f ? (f.definition ? JSON.stringify(f.definition, null, 2) : f.raw) : '';
  };
  const edit = form({
    label: 'Edit a flag',
    heading: 'Edit a flag',
    fields: [
      ['edit-name', 'Flag', editName],
      h('button', { type: 'button', onclick: load }, 'Load'),
      ['edit-document', 'Definition (JSON)', doc],
    ],
    submit: 'Validate and save',
    action: async () => {
      const path = `/api/flags/${encodeURIComponent(editName.value)}`;
      const { body } = await send<{ problems: string[]; revision?: string }>('PUT', path, {
        document: doc.value,
      });
      if (body.error) return body.error;
      return body.problems.length > 0
        ? `Refused: ${body.problems.join('; ')}`
        : `Saved at revision ${body.revision}`;
    },
  });
  return h('div', { class: 'panels' }, evaluate, edit);
}

interface Evaluation {
  value?: unknown;
  reason?: string;
  variant?: string;
  error?: string;
  errorMessage?: string;
}
