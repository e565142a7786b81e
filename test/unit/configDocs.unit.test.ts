import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, configDoc, KNOB_GROUPS } from '../../scripts/config-docs.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

describe('docs/configuration.md', () => {
  const doc = readFileSync(CONFIG_DOC, 'utf8');

  it('holds the knob tables generated from the knob definitions (npm run docs:config)', () => {
    expect(KNOB_GROUPS.flatMap((g) => g.knobs).length).toBeGreaterThan(40);
    expect(doc, 'out of date with the code: run npm run docs:config').toBe(configDoc(doc));
  });

  it('documents every environment variable the code and the scripts read', () => {
    const sources = [...files('src'), ...files('test/helpers'), ...files('scripts')]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const knobs = new Set<string>();
    const patterns = [
      /knob\.\w+\(\s*'([A-Z][A-Z0-9_]+)'/g,
      /read\.\w+\('([A-Z][A-Z0-9_]+)'/g,
      /process\.env\.([A-Z][A-Z0-9_]+)/g,
      /process\.env\['([A-Z][A-Z0-9_]+)'\]/g,
      /\$\{([A-Z][A-Z0-9_]+):-/g,
    ];
    for (const pattern of patterns) for (const match of sources.matchAll(pattern)) knobs.add(match[1]!);
    for (const builtIn of ['PATH', 'HOME', 'NODE_ENV', 'XDG_CACHE_HOME']) knobs.delete(builtIn);
    expect(knobs.size).toBeGreaterThan(50);
    const undocumented = [...knobs].filter((knob) => !doc.includes(`\`${knob}\``));
    expect(undocumented).toEqual([]);
  });
});
