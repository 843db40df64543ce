/**
 * Runs every ```ts block of README.md. A line `console.log(expr); // → value` checks that `expr`
 * equals the JSON `value`, so the documented outputs cannot drift from the code.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const scratch = join(here, '.readme-examples');

type Check = [actual: unknown, expected: string, line: string];
const results: Check[] = [];
(globalThis as { __readmeChecks?: Check[] }).__readmeChecks = results;

function toModule(code: string): string {
  const body = code
    .replaceAll(
      "from '@primer-ez/tokenizer/node'",
      `from ${JSON.stringify(join(root, 'src', 'node.ts'))}`,
    )
    .replaceAll(
      "from '@primer-ez/tokenizer/gpt2'",
      `from ${JSON.stringify(join(root, 'src', 'gpt2.ts'))}`,
    )
    .replaceAll(
      "from '@primer-ez/tokenizer'",
      `from ${JSON.stringify(join(root, 'src', 'index.ts'))}`,
    )
    .split('\n')
    .map((line) => {
      const m = /^(\s*)console\.log\((.*)\);\s*\/\/ → (.*)$/.exec(line);
      if (m === null) return line;
      return `${m[1]}globalThis.__readmeChecks.push([${m[2]}, ${JSON.stringify(m[3])}, ${JSON.stringify(line.trim())}]);`;
    })
    .join('\n');
  return `// @ts-nocheck generated from README.md by test/readme.test.ts\n${body}\nexport {};\n`;
}

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('README examples', () => {
  it('has examples for both tokenizers, GPT-2 ranks and tokenizer.json', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(readme).not.toContain('BENCH_FIGURES');
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs and prints what the README says`, async () => {
      mkdirSync(scratch, { recursive: true });
      const file = join(scratch, `example-${i + 1}.ts`);
      writeFileSync(file, toModule(code));
      results.length = 0;
      await import(/* @vite-ignore */ file);
      expect(results.length).toBeGreaterThan(0);
      for (const [actual, expected, line] of results) {
        expect(JSON.stringify(actual), line).toBe(JSON.stringify(JSON.parse(expected)));
      }
    });
  });
});
