/**
 * `concord serve`'s configuration, taken as etcd takes its own:
 *
 * - every flag on the command line (`--flag value`, `--flag=value`, and Go's `-flag value`);
 * - every flag from its environment variable: `ETCD_` + the flag upper-cased, dashes to
 *   underscores (`--initial-cluster` ← `ETCD_INITIAL_CLUSTER`); a flag given on the command line
 *   wins over its variable (which is then reported as shadowed), an empty variable is unset;
 * - or, with `--config-file` (or `ETCD_CONFIG_FILE`), everything from etcd's YAML file
 *   (etcd.conf.yml: the flag names as keys, TLS under `client-transport-security` and
 *   `peer-transport-security`): the file wins and other flags and variables are ignored, with a
 *   warning naming them (etcd 3.4 says so too).
 *
 * etcd flags Concord does not implement are accepted, each with one warning naming it (none
 * when the value given is what Concord does anyway, e.g. `--enable-v2=false`), so an etcd command
 * line, systemd unit or config file starts Concord unchanged.
 *
 * This module declares the options on the command; the rest is in modules of its own: the flags
 * implemented (serve-flags.ts) and accepted for etcd's sake (ignored-flags.ts), the YAML file
 * (config-file.ts), and which source wins (settings.ts).
 */
import { type Command, Option } from 'commander';
import { IGNORED_FLAGS } from './ignored-flags.js';
import { KNOWN } from './known-flags.js';
import { SERVE_FLAGS } from './serve-flags.js';

export { collectServeSettings, type Note, type ServeSettings, serveFlagsOf, withSource } from './settings.js';

/** Adds every flag (implemented and accepted-for-etcd) to `serve`, with defaults in --help. */
export function addServeOptions(cmd: Command): Command {
  for (const s of SERVE_FLAGS) {
    const text = s.dflt ? `${s.description} (default: ${s.dflt})` : s.description;
    cmd.addOption(new Option(`--${s.flag} ${s.arg}`, text).helpGroup(`${s.group}:`));
  }
  // Listed once at the end of --help (each one's reason is in the warning it gets).
  for (const s of IGNORED_FLAGS) cmd.addOption(new Option(`--${s.flag} [value]`, s.why).hideHelp());
  cmd.addHelpText(
    'after',
    `
Every flag can also be set from its environment variable, ETCD_ and the flag's name in capitals
with underscores (--initial-cluster: ETCD_INITIAL_CLUSTER), or from etcd's YAML --config-file
(then flags and variables are ignored). Single-dash flags (-name) work too, as etcd's do.

Accepted so that etcd command lines run unchanged, not implemented (each one given is warned
about once, with why):
${wrap(IGNORED_FLAGS.map((s) => `--${s.flag}`).join(', '), 96, '  ')}`,
  );
  return cmd;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

/** Go's flag syntax: `-name x` and `-name=x` are `--name x` (etcd command lines use both). */
export function goStyleFlags(args: string[]): string[] {
  return args.map((a) => {
    const m = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(a);
    return m && KNOWN.has(m[1]!) ? `-${a}` : a;
  });
}
