import pino, { type Logger } from 'pino';

/** Structured JSON lines on stdout, each with the node name, as log shippers expect. */
export function createLogger(node: string, level: string): Logger {
  return pino(
    {
      level,
      base: { node },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
export type { Logger };
