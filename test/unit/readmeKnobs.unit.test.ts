import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

describe('README', () => {
  it('documents every environment variable the code reads', () => {
    const readme = readFileSync('README.md', 'utf8');
    const sources = [...files('src'), ...files('test/helpers'), ...files('scripts')].map((file) => readFileSync(file, 'utf8')).join('\n');
    const knobs = new Set<string>();
    const patterns = [/read\.\w+\('([A-Z][A-Z0-9_]+)'/g, /process\.env\.([A-Z][A-Z0-9_]+)/g, /process\.env\['([A-Z][A-Z0-9_]+)'\]/g, /\$\{([A-Z][A-Z0-9_]+):-/g];
    for (const pattern of patterns) for (const match of sources.matchAll(pattern)) knobs.add(match[1]!);
    for (const builtIn of ['PATH', 'HOME']) knobs.delete(builtIn);
    expect(knobs.size).toBeGreaterThan(30);
    const undocumented = [...knobs].filter((knob) => !readme.includes(`\`${knob}\``));
    expect(undocumented).toEqual([]);
  });
});
