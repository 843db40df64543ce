import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
      'fromGpt2Ranks',
      'loadTokenizerJson',
      'preTokenize',
      'toWellFormed',
      'TokenizerError',
      'TokenizerJsonError',
      'MAX_VOCAB_SIZE',
      'MAX_TOKENIZER_JSON_BYTES',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
    expect(api.GPT2_SPLIT_PATTERN).toContain('\\p{L}');
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
