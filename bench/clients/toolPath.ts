import type { Env } from '../../src/shared/config/envReader.js';
import { type ToolName, toolPath as pinnedToolPath } from '../../src/dev-stack/index.js';

/**
 * Path of the pinned `name` (ghz, bombardier) if installed by scripts/install-tools.sh, which
 * `npm run bench` runs first, else undefined (the benchmark then runs its Node client only). The
 * rule is the dev stack's (src/dev-stack/toolPath.ts); `env` is the one bench/main.ts was started with.
 */
export function toolPath(name: Extract<ToolName, 'ghz' | 'bombardier'>, env: Env): string | undefined {
  return pinnedToolPath(name, env);
}
