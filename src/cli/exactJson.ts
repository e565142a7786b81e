/**
 * Reads integers out of JSON text exactly: JSON.parse would turn `{"sum":12345678901234567890}`
 * into a rounded number, so the raw text of each top-level member is taken from the document
 * itself (after JSON.parse has checked that it is well-formed).
 */

/** The raw text of each member of a top-level JSON object. Throws on anything else. */
export function topLevelMembers(json: string): Map<string, string> {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SyntaxError('expected a JSON object');
  const members = new Map<string, string>();
  let i = skipSpace(json, json.indexOf('{') + 1);
  while (json[i] !== '}') {
    const keyEnd = endOfString(json, i);
    const key = JSON.parse(json.slice(i, keyEnd)) as string;
    i = skipSpace(json, skipSpace(json, keyEnd) + 1); // past ':'
    const valueEnd = endOfValue(json, i);
    members.set(key, json.slice(i, valueEnd).trimEnd());
    i = skipSpace(json, valueEnd);
    if (json[i] === ',') i = skipSpace(json, i + 1);
  }
  return members;
}

/** The integer member `key` of a top-level JSON object, exactly; throws when it is missing or not an integer. */
export function readExactInteger(json: string, key: string): bigint {
  const raw = topLevelMembers(json).get(key);
  if (raw === undefined || !/^-?(0|[1-9]\d*)$/.test(raw))
    throw new SyntaxError(`expected an integer "${key}" member, found ${raw ?? 'none'}`);
  return BigInt(raw);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return i;
}

/** Index just past the string starting at `i` (which is a quote). */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the value starting at `i`: at the ',' or '}' that ends it at depth 0. */
function endOfValue(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j]!;
    if (c === '"') j = endOfString(text, j) - 1;
    else if (c === '{' || c === '[') depth++;
    else if (c === ']' || (c === '}' && depth > 0)) depth--;
    else if ((c === ',' || c === '}') && depth === 0) return j;
  }
  throw new SyntaxError('unterminated object');
}
