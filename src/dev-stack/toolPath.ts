/**
 * Where the pinned external tools are, by the rule scripts/install-tools.sh and
 * scripts/fetch-debezium.sh install them with: a per-user cache shared by every clone on the
 * machine, one folder per version. Nothing here installs anything: scripts/install-test-tools.sh
 * installs what the tests need before the test runner starts (npm test runs it), and a missing
 * tool is an error that names the command. The environment is a parameter (composition roots and
 * tests pass process.env).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../shared/config/envReader.js';
import { REPO_ROOT } from './serviceProcess.js';

/** The tools scripts/install-tools.sh pins (its PINS table). */
export type ToolName = 'grpcurl' | 'k6' | 'ghz' | 'bombardier' | 'docker-compose' | 'kubernetes-validate';

const INSTALL_TOOLS = path.join(REPO_ROOT, 'scripts', 'install-tools.sh');

/** A variable's value; unset and empty alike are undefined, as the shell's default-value expansion treats them. */
function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** SumStream's per-user cache: `${XDG_CACHE_HOME:-$HOME/.cache}/sumstream`. */
export function sumstreamCacheDir(env: Env): string {
  const base =
    read(env, 'XDG_CACHE_HOME') ??
    (read(env, 'HOME') !== undefined ? path.join(read(env, 'HOME')!, '.cache') : undefined);
  if (base === undefined)
    throw new Error(
      'Neither XDG_CACHE_HOME nor HOME is set: cannot locate the per-user cache of SumStream (~/.cache/sumstream).',
    );
  return path.resolve(base, 'sumstream');
}

/** The folder of the pinned tools: `SUMSTREAM_TOOLS_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/sumstream/tools`. */
export function toolsDir(env: Env): string {
  const dir = read(env, 'SUMSTREAM_TOOLS_DIR');
  return dir !== undefined ? path.resolve(dir) : path.join(sumstreamCacheDir(env), 'tools');
}

let pins: ReadonlyMap<string, string> | undefined;

/** The exact version scripts/install-tools.sh pins `name` to (read from its PINS table, the one place it is written). */
export function pinnedVersion(name: ToolName): string {
  pins ??= parsePins(readFileSync(INSTALL_TOOLS, 'utf8'));
  const version = pins.get(name);
  if (version === undefined)
    throw new Error(`scripts/install-tools.sh pins no tool ${name} (it pins ${[...pins.keys()].join(', ')}).`);
  return version;
}

function parsePins(script: string): ReadonlyMap<string, string> {
  const table = /^PINS='\n([\s\S]*?)^'$/m.exec(script)?.[1];
  if (table === undefined)
    throw new Error("scripts/install-tools.sh has no PINS='...' table (one `tool version installer source` per line).");
  return new Map(
    table
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields): fields is [string, string, ...string[]] => fields.length >= 2)
      .map(([tool, version]) => [tool, version]),
  );
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the pinned version of `name` if it is installed (`<toolsDir>/<name>/<version>/bin/<name>`), else undefined. */
export function toolPath(name: ToolName, env: Env): string | undefined {
  const dir = path.join(toolsDir(env), name, pinnedVersion(name));
  const bin = path.join(dir, 'bin', name);
  return existsSync(path.join(dir, '.complete')) && executable(bin) ? bin : undefined;
}

/** Path of the pinned version of `name`; throws, naming the install command, when it is not installed. */
export function requireTool(name: ToolName, env: Env): string {
  const bin = toolPath(name, env);
  if (bin !== undefined) return bin;
  // With SUMSTREAM_TOOLS_DIR set, the command has to carry it to install where this looks.
  const prefix = read(env, 'SUMSTREAM_TOOLS_DIR') !== undefined ? `SUMSTREAM_TOOLS_DIR=${toolsDir(env)} ` : '';
  throw new Error(
    `${name} ${pinnedVersion(name)} is not installed in ${toolsDir(env)}. Install it with \`${prefix}bash scripts/install-tools.sh ${name}\`, ` +
      `or everything the tests need with \`${prefix}bash scripts/install-test-tools.sh\` (npm test runs it before the tests).`,
  );
}

/** Install folder of Debezium Server `version` (the one holding run.sh): `${XDG_CACHE_HOME:-$HOME/.cache}/sumstream/debezium/<version>`, as scripts/fetch-debezium.sh installs it. */
export function debeziumHome(version: string, env: Env): string {
  return path.join(sumstreamCacheDir(env), 'debezium', version);
}
