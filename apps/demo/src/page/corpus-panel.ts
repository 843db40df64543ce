// Which text the race learns: the bundled Moby-Dick (served next to the page), a text file the
// person picks or drops, or pasted text.
import { textProblem, textStats } from '../shared/corpus.js';
import { formatCount } from '../shared/format.js';
import { byId } from './dom.js';

export type CorpusSource = 'moby' | 'file' | 'paste';

/** A text to train on, and what to call it. */
export interface Corpus {
  source: CorpusSource;
  name: string;
  text: string;
}

export class CorpusPanel {
  private mobyDick: string | undefined;
  private file: { name: string; text: string } | undefined;
  private readonly info = byId('corpus-info');
  private readonly paste = byId('corpus-paste', HTMLTextAreaElement);

  constructor(private readonly onChange: () => void) {
    const fieldset = byId('corpus', HTMLFieldSetElement);
    fieldset.addEventListener('change', (event) => {
      if ((event.target as HTMLInputElement).name === 'corpus') this.refresh();
    });
    const fileInput = byId('corpus-file', HTMLInputElement);
    fileInput.addEventListener('change', () => {
      const file = fileInput.files?.[0];
      if (file) void this.readFile(file);
    });
    const drop = byId('corpus-drop');
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('dragging');
      const file = event.dataTransfer?.files[0];
      if (file) void this.readFile(file);
    });
    this.paste.addEventListener('input', () => {
      this.select(this.paste.value === '' && this.file === undefined ? 'moby' : 'paste');
    });
  }

  /** Fetches the bundled Moby-Dick (a static file of the build). */
  async loadMobyDick(): Promise<void> {
    const response = await fetch(`${import.meta.env.BASE_URL}moby-dick.txt`);
    if (!response.ok) throw new Error(`moby-dick.txt: HTTP ${response.status}`);
    this.mobyDick = await response.text();
    this.refresh();
  }

  get source(): CorpusSource {
    const checked = document.querySelector<HTMLInputElement>('input[name="corpus"]:checked');
    return (checked?.value as CorpusSource | undefined) ?? 'moby';
  }

  /** The chosen text, or a reason it cannot be used. */
  current(): { corpus: Corpus; problem?: undefined } | { corpus?: undefined; problem: string } {
    const source = this.source;
    if (source === 'moby') {
      if (this.mobyDick === undefined) return { problem: 'Moby-Dick is still loading.' };
      return { corpus: { source, name: 'Moby-Dick', text: this.mobyDick } };
    }
    if (source === 'file') {
      if (this.file === undefined) return { problem: 'Choose a text file first.' };
      const problem = textProblem(this.file.text, this.file.name);
      return problem ? { problem } : { corpus: { source, ...this.file } };
    }
    const text = this.paste.value;
    const problem = textProblem(text, 'The pasted text');
    return problem ? { problem } : { corpus: { source, name: 'the pasted text', text } };
  }

  /** Uses a text file's contents (also when restoring a kept corpus). */
  useFile(name: string, text: string): void {
    this.file = { name, text };
    this.select('file');
  }

  /** Uses pasted text (when restoring a kept corpus). */
  usePasted(text: string): void {
    this.paste.value = text;
    this.select('paste');
  }

  lock(locked: boolean): void {
    for (const input of byId('corpus', HTMLFieldSetElement).querySelectorAll<
      HTMLInputElement | HTMLTextAreaElement
    >('input, textarea')) {
      input.disabled = locked;
    }
  }

  private async readFile(file: File): Promise<void> {
    // Blob.text() decodes UTF-8, turning invalid bytes into U+FFFD (which textProblem counts).
    this.useFile(file.name, await file.text());
  }

  private select(source: CorpusSource): void {
    const radio = document.querySelector<HTMLInputElement>(
      `input[name="corpus"][value="${source}"]`,
    );
    if (radio) radio.checked = true;
    this.refresh();
  }

  private refresh(): void {
    const { corpus, problem } = this.current();
    if (corpus) {
      const { characters, distinct } = textStats(corpus.text);
      this.info.textContent = `${corpus.name}: ${formatCount(characters)} characters, ${distinct} distinct (the vocabulary).`;
      this.info.classList.remove('error');
    } else {
      this.info.textContent = problem;
      this.info.classList.toggle('error', this.source !== 'moby');
    }
    this.info.dataset.characters = corpus ? String(corpus.text.length) : '';
    this.onChange();
  }
}
