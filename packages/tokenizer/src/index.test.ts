import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as gpt2 from './gpt2.js';
import * as api from './index.js';

describe('public API', () => {
  it('exports the tokenizers, trainers and loaders', () => {
    for (const name of [
      'ByteLevelBpeTokenizer',
      'CharTokenizer',
      'BpeTrainer',
      'trainByteLevelBpe',
      'trainByteLevelBpeAsync',
      'trainCharTokenizer',
      'loadTokenizerJson',
      'toWellFormed',
      'TokenizerError',
      'TokenizerJsonError',
      'MAX_VOCAB_SIZE',
      'MAX_TOKENIZER_JSON_BYTES',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it('exports the GPT-2 machinery from the gpt2 entry, not the main one', () => {
    for (const name of ['fromGpt2Ranks', 'preTokenize', 'BYTE_TO_CHAR', 'tokenStringToBytes']) {
      expect(gpt2, name).toHaveProperty(name);
      expect(api, name).not.toHaveProperty(name);
    }
    expect(gpt2.GPT2_SPLIT_PATTERN).toContain('\\p{L}');
  });

  it('keeps Node-only APIs out of the browser entry', () => {
    // Everything reachable from index.ts must run in a browser: no node: imports, fs, Buffer or process.
    const dir = dirname(fileURLToPath(import.meta.url));
    const core = readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'node.ts',
    );
    expect(core.length).toBeGreaterThan(10);
    for (const file of core) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/from '(node:|fs|path|os|crypto)/);
      expect(source, file).not.toMatch(/\b(Buffer|process|require)\b[.(]/);
      expect(source, file).not.toMatch(/from '\.\/node\.js'/);
    }
  });
});
