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
  /** Calls still in flight when the time was up, cut off by the client (not counted as errors). */
  cutOff?: number;
  /** Error messages with their counts, when the tool reports them. */
  errorKinds?: string[];
}
