/**
 * The logger a member writes to: four levels, a message and optional fields (etcd 3.5's zap
 * lines: `{"level":"warn","ts":…,"msg":"slow fdatasync","took":"1.2s"}`). `concord serve`
 * builds one on pino (src/cli/logging.ts); embedders pass their own, or a plain function.
 *
 * Messages never carry secrets: passwords, tokens and private keys are not logged at any level.
 * A field that holds one by mistake is redacted by the pino logger (see REDACTED_FIELDS).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line (the member's name and ID, a module). */
  child(fields: LogFields): Logger;
  /** Whether lines of this level are written (skip building costly fields when not). */
  isLevelEnabled(level: LogLevel): boolean;
}

/** Where a module logs: a Logger, or a plain function given each line's text. */
export type LogSink = Logger | ((msg: string) => void);

/** Field names whose values are never written (pino replaces them with "[REDACTED]"). */
export const REDACTED_FIELDS = ['password', 'token', 'authorization', 'privateKey', 'priv-key'];

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** `msg k=v k=v`: a line for a plain-text sink. */
function textOf(msg: string, fields: LogFields | undefined): string {
  if (!fields) return msg;
  const parts = Object.entries(fields)
    .filter(([k, v]) => v !== undefined && !REDACTED_FIELDS.includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, bigintText)}`);
  return parts.length ? `${msg} (${parts.join(', ')})` : msg;
}

function bigintText(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** A Logger over a function given each line's text (`minLevel` and above; fields appended). */
export function textLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const make = (bound: LogFields): Logger => {
    const at =
      (level: LogLevel) =>
      (msg: string, fields?: LogFields): void => {
        if (LEVELS[level] < LEVELS[minLevel]) return;
        write(textOf(msg, fields ? { ...bound, ...fields } : Object.keys(bound).length ? bound : undefined));
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (fields) => make({ ...bound, ...fields }),
      isLevelEnabled: (level) => LEVELS[level] >= LEVELS[minLevel],
    };
  };
  return make({});
}

/** A function sink gets every level's text, as it did before the Logger (tests pass `() => {}`). */
export function asLogger(sink: LogSink | undefined): Logger {
  if (sink === undefined) return defaultLogger();
  if (typeof sink === 'function') return textLogger(sink, 'debug');
  return sink;
}

let processLogger: Logger | undefined;

/**
 * The process's logger, for code that has no member at hand (an unexpected error in a request
 * handler, a torn WAL tail): `concord serve` sets it to its pino logger. Until then, plain
 * `concord: <text>` lines on stderr, info and above.
 */
export function defaultLogger(): Logger {
  processLogger ??= textLogger((line) => process.stderr.write(`concord: ${line}\n`));
  return processLogger;
}

export function setDefaultLogger(logger: Logger): void {
  processLogger = logger;
}

/** A duration as etcd's zap fields print them ("1.234s", "150.2ms"). */
export function took(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${ms.toFixed(1)}ms`;
}
