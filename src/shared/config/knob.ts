import { type Env, type EnvReader, envReader } from './envReader.js';

/**
 * One configuration knob: its environment variable, its default (defined here and nowhere else),
 * what it means, and how it is read and validated. A process's configuration is a record of knobs
 * (`readKnobs`), and docs/configuration.md is generated from the same records.
 */
export interface Knob<T> {
  /** Environment variable. */
  readonly name: string;
  /** Value when the variable is unset or blank. */
  readonly default: T;
  /** The default as the docs show it, when `default` alone would mislead (e.g. a computed one). */
  readonly shownDefault?: string;
  /** What it does, with its unit; one sentence or two. */
  readonly doc: string;
  read(read: EnvReader, env: Env): T;
}

/** The values of a record of knobs, under the same keys. */
export type KnobValues<K extends Record<string, Knob<unknown>>> = {
  -readonly [P in keyof K]: K[P] extends Knob<infer T> ? T : never;
};

interface Range {
  min?: number;
  max?: number;
}

/** Knob constructors, one per kind of value; each validates as `EnvReader` does and names the fix. */
export const knob = {
  string: (name: string, fallback: string, doc: string): Knob<string> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.string(name, fallback),
  }),
  /** Unset means `undefined` (no default value). */
  optional: (name: string, doc: string, shownDefault = 'none'): Knob<string | undefined> => ({
    name,
    default: undefined,
    shownDefault,
    doc,
    read: (r) => r.string(name, '') || undefined,
  }),
  int: (name: string, fallback: number, range: Range, doc: string): Knob<number> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.int(name, fallback, range),
  }),
  port: (name: string, fallback: number, doc: string): Knob<number> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.port(name, fallback),
  }),
  url: (name: string, fallback: string, protocols: readonly string[], doc: string): Knob<string> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.url(name, fallback, protocols),
  }),
  /** One URL or several separated by commas (client-side failover across cluster nodes). */
  urlList: (name: string, fallback: string, protocols: readonly string[], doc: string): Knob<string> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.urlList(name, fallback, protocols),
  }),
  oneOf: <T extends string>(name: string, fallback: T, allowed: readonly T[], doc: string): Knob<T> => ({
    name,
    default: fallback,
    doc: `${doc} One of ${allowed.map((a) => `\`${a}\``).join(', ')}.`,
    read: (r) => r.oneOf(name, fallback, allowed),
  }),
  bool: (name: string, fallback: boolean, doc: string): Knob<boolean> => ({
    name,
    default: fallback,
    doc,
    read: (r) => r.bool(name, fallback),
  }),
  /** A knob whose default depends on the environment (`fallback(env)`); `shownDefault` says how. */
  derived: <T>(
    name: string,
    shownDefault: string,
    doc: string,
    read: (r: EnvReader, env: Env) => T,
    fallback: T,
  ): Knob<T> => ({
    name,
    default: fallback,
    shownDefault,
    doc,
    read,
  }),
};

/** Reads every knob of `knobs` from `env`; throws ConfigError naming the variable and the fix. */
export function readKnobs<K extends Record<string, Knob<unknown>>>(env: Env, knobs: K): KnobValues<K> {
  const read = envReader(env);
  const values: Record<string, unknown> = {};
  for (const [key, k] of Object.entries(knobs)) values[key] = k.read(read, env);
  return values as KnobValues<K>;
}

/** A titled set of knobs as docs/configuration.md shows it. */
export interface KnobGroup {
  title: string;
  knobs: readonly Knob<unknown>[];
}
