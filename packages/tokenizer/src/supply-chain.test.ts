/**
 * Supply chain: nothing in this package turns data into code. Biome's recommended
 * `lint/security/noGlobalEval` rule already rejects `eval(...)`; it does not cover `new Function`,
 * string timers or `node:vm`, so this test scans the sources for all of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FORBIDDEN: [RegExp, string][] = [
  [/\beval\s*\(/, 'eval()'],
  [/\bnew\s+Function\b/, 'new Function'],
  [/(?<![.\w])Function\s*\(/, 'Function()'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(\s*['"`]/, 'a timer with a string of code'],
  [/from\s+['"](node:)?vm['"]/, 'the vm module'],
  [/\bimport\s*\(\s*[^'"`\s/]/, 'import() of a computed specifier'],
  [/\bconstructor['"`]?\s*\]\s*\(/, 'a call through ["constructor"]'],
];

/** The forbidden constructs in `source`, by name, ignoring comments. */
function findCodeFromData(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, name]) => name);
}

describe('no code from data', () => {
  it('recognises each forbidden construct (so the scan below can fail)', () => {
    expect(findCodeFromData('const f = eval("1");')).toEqual(['eval()']);
    expect(findCodeFromData('const f = new Function("a", "return a");')).toEqual([
      'new Function',
      'Function()',
    ]);
    expect(findCodeFromData('const f = Function("return this")();')).toEqual(['Function()']);
    expect(findCodeFromData("setTimeout('run()', 1);")).toEqual(['a timer with a string of code']);
    expect(findCodeFromData("import { runInNewContext } from 'node:vm';")).toEqual([
      'the vm module',
    ]);
    expect(findCodeFromData('await import(userPath);')).toEqual([
      'import() of a computed specifier',
    ]);
    expect(findCodeFromData("x['constructor']['constructor']('code')()")).toEqual([
      'a call through ["constructor"]',
    ]);
    expect(findCodeFromData('// eval(x) in a comment\nconst a = 1; /* new Function */')).toEqual(
      [],
    );
    expect(findCodeFromData('setTimeout(() => run(), 1); obj.Function(1); evaluate(2);')).toEqual(
      [],
    );
  });

  it('finds none of them in the package sources', () => {
    const dir = dirname(fileURLToPath(import.meta.url));
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(20);
    for (const file of sources) {
      expect(findCodeFromData(readFileSync(join(dir, file), 'utf8')), file).toEqual([]);
    }
  });
});
