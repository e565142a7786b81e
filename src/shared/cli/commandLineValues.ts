/**
 * Parsers of the values the tools' flags and arguments take, shared so that every tool spells a
 * duration and a whole number the same way and says the same thing when one is wrong. Each
 * throws CommandLineError naming the flag; parseCommandLine turns it into the tool's error type.
 */
import { CommandLineError } from './parseCommandLine.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "30s", "2m", "500ms", "1h", "1.5s"; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new CommandLineError(`${flag} "${text}" is not a duration: write e.g. 500ms, 30s, 2m or 1h`);
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS]);
}

export interface WholeNumberRange {
  min: number;
  /** No upper bound when absent. */
  max?: number;
}

/** Digits only (no sign, no exponent, no fraction), within `range`. */
export function parseWholeNumber(text: string, flag: string, range: WholeNumberRange): number {
  if (!/^\d+$/.test(text.trim())) throw new CommandLineError(`${flag} "${text}" is not a whole number`);
  const value = Number(text);
  if (range.max === undefined) {
    if (value < range.min) throw new CommandLineError(`${flag} "${text}" must be a whole number >= ${range.min}`);
  } else if (value < range.min || value > range.max) {
    throw new CommandLineError(`${flag} ${value} is out of range: use ${range.min} to ${range.max}`);
  }
  return value;
}

/** Commander argument parser (`.option(flags, text, wholeNumber(...))`) of a whole number in `range`. */
export function wholeNumber(flag: string, range: WholeNumberRange): (text: string) => number {
  return (text) => parseWholeNumber(text, flag, range);
}

/** Commander argument parser of a duration in milliseconds. */
export function duration(flag: string): (text: string) => number {
  return (text) => parseDuration(text, flag);
}
