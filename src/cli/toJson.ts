/**
 * JSON.stringify that writes bigints as exact integer literals (`{"sum":9223372036854775808}`),
 * so machine-readable output never passes a sum through a JS number. Indented by `indent`
 * spaces when given.
 */
export function toJson(value: unknown, indent?: number): string {
  const marks = new Map<string, string>();
  const nonce = Math.random().toString(36).slice(2);
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      const mark = `\u0000${nonce}:${marks.size}\u0000`;
      marks.set(mark, v.toString());
      return mark;
    },
    indent,
  );
  if (text === undefined) throw new TypeError('toJson: value is not serialisable');
  // Each bigint became a JSON string holding a NUL-delimited random mark; put the digits in its place.
  return marks.size === 0
    ? text
    : text.replace(/"\\u0000[a-z0-9]+:\d+\\u0000"/g, (quoted) => marks.get(JSON.parse(quoted) as string) ?? quoted);
}
