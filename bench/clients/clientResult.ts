/** What every load client reports, whichever tool produced it. */
export interface ClientResult {
  /** The tool: `sumstream-load`, `ghz`, `bombardier`. */
  client: string;
  ok: number;
  errors: number;
  seconds: number;
  /** Answers per second (successful and failed). */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
}
