/**
 * The member's logger, as etcd 3.5's zap logger writes: one JSON object a line with `level`,
 * `ts` (ISO-8601), `msg` and the member's `name` (and `member-id`, added once it is known), on
 * stderr by default. `--log-format console` (etcd 3.6's flag), a terminal, or `concord dev`
 * give pino-pretty's readable lines instead; a file output is always JSON.
 *
 * etcd's flags: --log-level debug|info|warn|error (panic and fatal: errors only), --log-outputs
 * stderr|stdout|default|<file>[,…], --logger zap (capnslog is not supported: warned, zap used).
 */
import pino from 'pino';
import pretty from 'pino-pretty';
import { type LogFields, type Logger, type LogLevel, REDACTED_FIELDS } from '../log.js';
import { ConfigError } from '../server/index.js';

export interface LogOptions {
  /** --log-level (etcd's names). */
  level?: string;
  /** --log-outputs, comma-separated. */
  outputs?: string;
  /** --log-format: 'json' or 'console' (readable); default: console on a terminal, else json. */
  format?: string;
  /** --logger: 'zap' (what this is) or 'capnslog' (warned). */
  logger?: string;
}

export interface CreatedLogger {
  logger: Logger;
  /** Things to say once the logger exists (an unsupported value given to a logging flag). */
  warnings: string[];
  /** Writes what is buffered (the destinations are synchronous: nothing is, today). */
  flush(): void;
}

const PINO_LEVEL: Record<string, pino.Level> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  dpanic: 'fatal',
  panic: 'fatal',
  fatal: 'fatal',
};

/** pino's redact paths: each secret-bearing field name at the top level and one level down. */
const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
  return [k, k.startsWith('[') ? `*${k}` : `*.${k}`];
});

export function parseLogLevel(value: string | undefined): pino.Level {
  const v = (value ?? 'info').toLowerCase();
  const level = PINO_LEVEL[v];
  if (!level)
    throw new ConfigError(
      `--log-level: expected debug, info, warn, error, panic or fatal, got ${JSON.stringify(value)}`,
    );
  return level;
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, fields) => (fields ? p.error(fields, msg) : p.error(msg)),
    child: (fields: LogFields) => wrap(p.child(fields)),
    isLevelEnabled: (level: LogLevel) => p.isLevelEnabled(level),
  };
}

export function createLogger(o: LogOptions, base: LogFields = {}): CreatedLogger {
  const warnings: string[] = [];
  const level = parseLogLevel(o.level);
  if (o.logger !== undefined && o.logger !== 'zap') {
    if (o.logger === 'capnslog')
      warnings.push("--logger capnslog is not supported (etcd 3.5 removed it): logging with 'zap' lines");
    else throw new ConfigError(`--logger: expected "zap" or "capnslog", got ${JSON.stringify(o.logger)}`);
  }
  const format = o.format ?? 'auto';
  if (format !== 'auto' && format !== 'json' && format !== 'console')
    throw new ConfigError(`--log-format: expected "json" or "console", got ${JSON.stringify(o.format)}`);
  const outputs = [
    ...new Set(
      (o.outputs ?? 'default')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (outputs.length === 0) outputs.push('default');
  const streams: pino.StreamEntry[] = [];
  for (const out of outputs) {
    let dest: number | string;
    let tty = false;
    if (out === 'default' || out === 'stderr' || out === 'journal') {
      if (out === 'journal')
        warnings.push(
          '--log-outputs journal is not supported (no systemd journal writer): logging to stderr',
        );
      dest = 2;
      tty = process.stderr.isTTY === true;
    } else if (out === 'stdout') {
      dest = 1;
      tty = process.stdout.isTTY === true;
    } else dest = out;
    const readable = format === 'console' || (format === 'auto' && tty);
    let stream: pino.DestinationStream;
    try {
      stream = readable
        ? pretty({
            destination: dest,
            sync: true,
            colorize: tty,
            timestampKey: 'ts',
            translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
            ignore: 'pid,hostname',
            singleLine: true,
            messageKey: 'msg',
            mkdir: false,
            append: true,
          })
        : pino.destination({ dest, sync: true, append: true, mkdir: false });
    } catch (err) {
      throw new ConfigError(`--log-outputs ${out}: cannot write there: ${(err as Error).message}`);
    }
    streams.push({ stream, level });
  }
  const p = pino(
    {
      level,
      base,
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    streams.length === 1 ? streams[0]!.stream : pino.multistream(streams),
  );
  return {
    logger: wrap(p),
    warnings,
    flush: () => {
      try {
        p.flush();
      } catch {
        // a closed destination: nothing left to write
      }
    },
  };
}
