/** Debezium messages worth a line in the dev stack's terminal at INFO level: its life cycle. */
const MILESTONES =
  /started in [\d.]+s|stopped in [\d.]+s|Using connection to|Snapshot (completed|ended)|Finished exporting|Processing messages|records sent during|Received request to stop|Engine is stopped|Connector completed/;

/**
 * What the dev stack shows of one line of Debezium Server's output: warnings and errors (with
 * their exception), and the milestones of its life cycle, as `LEVEL Logger: message`; undefined
 * for the rest (the full output goes to its log file). Takes Quarkus's JSON lines and plain ones.
 */
export function debeziumLogLine(line: string): string | undefined {
  let entry: { level?: unknown; loggerName?: unknown; message?: unknown; exception?: { message?: unknown } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    // Plain text: the banner, a JVM message on stderr. Skip blank and indented (continuation) lines.
    return /^\S/.test(line) && !/^[\s/_\\|(),.'<>-]+$/.test(line) ? line : undefined;
  }
  const level = text(entry.level ?? 'INFO');
  const message = text(entry.message ?? '');
  if (!/^(WARN|WARNING|ERROR|FATAL|SEVERE)$/.test(level) && !MILESTONES.test(message)) return undefined;
  const logger = text(entry.loggerName ?? '')
    .split('.')
    .pop();
  const cause = entry.exception?.message ? ` (${text(entry.exception.message)})` : '';
  return `${level} ${logger}: ${message}${cause}`;
}

/** A JSON log field as text: strings as they are, anything else as JSON. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
