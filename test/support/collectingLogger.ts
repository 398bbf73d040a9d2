import type { Logger } from '../../src/host/ports.ts';

export interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A Logger that keeps every line it is given, for a test to read. */
export function collectingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (fields: object, message?: string) =>
    void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
