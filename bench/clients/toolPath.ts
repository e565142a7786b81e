import { type ToolName, toolPath as pinnedToolPath } from '../../src/dev-stack/index.js';

/**
 * Path of the pinned `name` (ghz, bombardier) if installed by scripts/install-tools.sh, which
 * `npm run bench` runs first, else undefined (the benchmark then runs its Node client only). The
 * rule is the dev stack's (src/dev-stack/toolPath.ts). The benchmarks are not handed the process
 * environment by bench/main.ts, so this one place reads it.
 */
export function toolPath(name: Extract<ToolName, 'ghz' | 'bombardier'>): string | undefined {
  return pinnedToolPath(name, process.env);
}
