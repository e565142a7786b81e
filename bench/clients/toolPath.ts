import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/dev-stack/index.js';

/** Path of a tool installed by `scripts/install-tools.sh` (in .sumstream/tools/bin), or undefined. */
export function toolPath(name: string): string | undefined {
  const file = path.join(REPO_ROOT, '.sumstream', 'tools', 'bin', name);
  return existsSync(file) ? file : undefined;
}
