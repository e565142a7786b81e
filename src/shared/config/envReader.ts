import { ConfigError } from './ConfigError.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Typed, validated reads of environment variables; every error names the variable and the fix. */
export interface EnvReader {
  string(name: string, fallback: string): string;
  int(name: string, fallback: number, range?: { min?: number; max?: number }): number;
  port(name: string, fallback: number): number;
  url(name: string, fallback: string, protocols: readonly string[]): string;
  /** One URL, or several separated by commas, each checked like `url`; returned as given. */
  urlList(name: string, fallback: string, protocols: readonly string[]): string;
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T;
  bool(name: string, fallback: boolean): boolean;
}

export function envReader(env: Env): EnvReader {
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int: EnvReader['int'] = (name, fallback, range = {}) => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new ConfigError(
        `${name}=${JSON.stringify(value)} is not an integer in [${min}, ${max}]; set it to such a number or unset it to use ${fallback}.`,
      );
    }
    return Number(value);
  };
  const checkUrl = (name: string, value: string, fallback: string, protocols: readonly string[]): void => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch (cause) {
      throw new ConfigError(
        `${name} is not a valid URL; expected e.g. ${fallback.replace(/\/\/[^@]*@/, '//user:password@')}.`,
        { cause },
      );
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw new ConfigError(`${name} uses protocol ${parsed.protocol}; expected one of ${protocols.join(', ')}.`);
    }
  };
  return {
    string: (name, fallback) => raw(name) ?? fallback,
    int,
    port: (name, fallback) => int(name, fallback, { min: 0, max: 65535 }),
    url(name, fallback, protocols) {
      const value = raw(name) ?? fallback;
      checkUrl(name, value, fallback, protocols);
      return value;
    },
    urlList(name, fallback, protocols) {
      const value = raw(name) ?? fallback;
      const urls = value.split(',').map((u) => u.trim());
      if (urls.some((u) => u === ''))
        throw new ConfigError(
          `${name} has an empty entry; separate URLs with single commas, e.g. ${fallback},${fallback}.`,
        );
      for (const url of urls) checkUrl(name, url, fallback, protocols);
      return value;
    },
    oneOf(name, fallback, allowed) {
      const value = raw(name) ?? fallback;
      if (!(allowed as readonly string[]).includes(value)) {
        throw new ConfigError(`${name}=${JSON.stringify(value)} is not one of ${allowed.join(', ')}.`);
      }
      return value as typeof fallback;
    },
    bool(name, fallback) {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (['1', 'true', 'yes', 'on'].includes(value)) return true;
      if (['0', 'false', 'no', 'off'].includes(value)) return false;
      throw new ConfigError(`${name}=${JSON.stringify(value)} is not a boolean; use true or false.`);
    },
  };
}
