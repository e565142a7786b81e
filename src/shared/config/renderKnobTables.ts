import type { Knob, KnobGroup } from './knob.js';

const MARK_BEGIN = '<!-- knobs:generated:begin (npm run docs:config writes this block from the code) -->';
const MARK_END = '<!-- knobs:generated:end -->';

function shownDefault(k: Knob<unknown>): string {
  if (k.shownDefault !== undefined) return k.shownDefault;
  if (k.default === '') return 'empty';
  return `\`${String(k.default)}\``;
}

/** Markdown tables (variable, default, meaning) of every group, between the generated-block markers. */
export function renderKnobTables(groups: readonly KnobGroup[]): string {
  const seen = new Set<string>();
  const parts = [MARK_BEGIN];
  for (const group of groups) {
    const rows = group.knobs.filter((k) => !seen.has(k.name));
    if (rows.length === 0) continue;
    parts.push('', `### ${group.title}`, '', '| Variable | Default | Meaning |', '|---|---|---|');
    for (const k of rows) {
      seen.add(k.name);
      parts.push(`| \`${k.name}\` | ${shownDefault(k)} | ${k.doc.replace(/\|/g, '\\|')} |`);
    }
  }
  parts.push('', MARK_END);
  return parts.join('\n');
}

/** `doc` with its generated block replaced by `tables`; throws when the markers are missing. */
export function replaceKnobTables(doc: string, tables: string): string {
  const begin = doc.indexOf(MARK_BEGIN);
  const end = doc.indexOf(MARK_END);
  if (begin < 0 || end < begin)
    throw new Error(
      `docs/configuration.md lacks the lines ${MARK_BEGIN} and ${MARK_END}; put them back where the tables go.`,
    );
  return doc.slice(0, begin) + tables + doc.slice(end + MARK_END.length);
}
