// One structured logger for both processes: pino, one JSON object per line on stdout, every line carrying the
// component (controller, node-agent) and, where known, the node and pod. The Temporal SDK's logs (the runtime's
// and the activities' context loggers) are forwarded to it, so a log pipeline sees one format.
import { pino, stdTimeFunctions, type Logger as Pino, type DestinationStream } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

export type { Pino };

/** LOG_LEVEL, as both processes read it. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

export interface LoggerOptions {
  /** `controller` or `node-agent`. */
  component: string;
  /** Fields on every line (node, pod); undefined values are left out. */
  bindings?: Record<string, string | undefined>;
  /** Minimum level (pino's names); default `info`. */
  level?: string;
  /** Where lines go (tests); default stdout. */
  destination?: DestinationStream;
}

export function createLogger(o: LoggerOptions): Pino {
  const base: Record<string, string> = { component: o.component };
  for (const [k, v] of Object.entries(o.bindings ?? {})) if (v) base[k] = v;
  return pino(
    {
      level: o.level ?? 'info',
      base,
      messageKey: 'message',
      errorKey: 'error',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    o.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Pure: the pino level of a Temporal SDK level. */
export function pinoLevel(level: LogLevel): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  return level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Pure: the SDK's log metadata as JSON fields. The task token (opaque bytes, a credential of the task) is left
 * out; errors keep their name, message and failure type; bigints become strings.
 */
export function logFields(meta: LogMetadata | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) {
    if (k === 'taskToken') continue;
    if (v instanceof Error) out[k] = { name: v.name, message: v.message, ...('type' in v && v.type ? { type: v.type } : {}) };
    else if (typeof v === 'bigint') out[k] = v.toString();
    else out[k] = v;
  }
  return out;
}

/**
 * The Temporal SDK's Logger interface over pino (Runtime.install({ logger })). A field the logger carries already
 * with the same value (an activity's `node`) is not repeated.
 */
export function temporalLogger(log: Pino): TemporalLogger {
  const bound = log.bindings();
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => {
    const fields = logFields(meta);
    for (const [k, v] of Object.entries(fields)) if (bound[k] === v) delete fields[k];
    log[pinoLevel(level)](fields, message);
  };
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}

/** A logger of plain messages (the watcher's and the leader election's) over pino. */
export function messageLogger(log: Pino): { info(m: string): void; warn(m: string): void; error(m: string): void } {
  return { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) };
}
