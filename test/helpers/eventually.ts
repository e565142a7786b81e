/**
 * Retries `check` until it stops throwing (its value is returned) or `timeoutMs` passes
 * (the last error is rethrown). For waiting on asynchronous outcomes without fixed sleeps.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
    }
  }
}
