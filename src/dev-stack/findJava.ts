import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface FindJavaOptions {
  /** Lowest acceptable feature release (21 for Debezium Server 3.x). */
  minMajor: number;
  /** Checked first when set (the caller's `JAVA_HOME`). Default: none. */
  javaHome?: string | undefined;
  /** Folders holding JDKs, searched next (highest version wins). Default `['/usr/lib/jvm']`. */
  jvmDirs?: string[];
}

export interface JavaRuntime {
  /** Path of the `java` binary (or `java` from PATH). */
  bin: string;
  /** Feature release, e.g. 25. */
  major: number;
}

/**
 * Finds a Java runtime of at least `minMajor`: `javaHome`, then every JDK under /usr/lib/jvm
 * (the highest), then `java` on PATH. Returns undefined when none qualifies; `describeJava`
 * says what was found instead.
 */
export function findJava(options: FindJavaOptions): JavaRuntime | undefined {
  // Lazily: `java -version` (a JVM start) runs only when nothing before it qualifies.
  for (const java of candidates(options)) if (java.major >= options.minMajor) return java;
  return undefined;
}

/** Every Java runtime `findJava` considered, for error messages ("found Java 17 at …"). */
export function describeJava(options: FindJavaOptions): string {
  const found = [...candidates(options)];
  return found.length === 0 ? 'no Java at all' : found.map((java) => `Java ${java.major} (${java.bin})`).join(', ');
}

function* candidates(options: FindJavaOptions): Generator<JavaRuntime> {
  const home = options.javaHome;
  const fromHome = home ? runtimeIn(home) : undefined;
  if (fromHome) yield fromHome;
  const installed: JavaRuntime[] = [];
  for (const dir of options.jvmDirs ?? ['/usr/lib/jvm']) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      const java = runtimeIn(path.join(dir, entry));
      if (java && !installed.some((other) => other.bin === java.bin)) installed.push(java);
    }
  }
  yield* installed.sort((a, b) => b.major - a.major);
  const onPath = versionOf('java');
  if (onPath !== undefined) yield { bin: 'java', major: onPath };
}

/** The runtime of a JDK/JRE folder, read from its `release` file (no process started). */
function runtimeIn(home: string): JavaRuntime | undefined {
  const bin = path.join(home, 'bin', 'java');
  if (!existsSync(bin)) return undefined;
  let major: number | undefined;
  try {
    const version = /^JAVA_VERSION="([^"]+)"/m.exec(readFileSync(path.join(home, 'release'), 'utf8'))?.[1];
    if (version) major = featureRelease(version);
  } catch {
    major = versionOf(bin);
  }
  return major === undefined ? undefined : { bin, major };
}

/** Runs `java -version`; undefined when it cannot be run. */
function versionOf(bin: string): number | undefined {
  const result = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) return undefined;
  const version = /version "([^"]+)"/.exec(result.stderr + result.stdout)?.[1];
  return version ? featureRelease(version) : undefined;
}

/** "1.8.0_392" → 8, "17.0.15" → 17, "25" → 25. */
function featureRelease(version: string): number | undefined {
  const [first, second] = version.split(/[.+_-]/).map(Number);
  const major = first === 1 ? second : first;
  return major !== undefined && Number.isInteger(major) ? major : undefined;
}
