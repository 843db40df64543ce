// Generation: the prompt and sampling knobs go to the chosen model's worker, and the text comes
// back piece by piece as it is sampled, appended to the page. The output is a polite live region
// marked busy while streaming, so screen readers read it once, whole, rather than per letter.
import { formatDuration } from '../shared/format.js';
import type { GenerateParams, Role } from '../shared/protocol.js';
import { ROLE_LABEL } from '../shared/protocol.js';
import { byId } from './dom.js';
import type { Lab } from './lab.js';

export class GeneratePanel {
  private readonly form = byId('generate-form', HTMLFormElement);
  private readonly output = byId('gen-output');
  private readonly text = byId('gen-text');
  private readonly status = byId('gen-status');
  private readonly generateButton = byId('generate', HTMLButtonElement);
  private readonly stopButton = byId('stop-generating', HTMLButtonElement);
  private current: { role: Role; id: number } | undefined;
  private nextId = 1;
  private pieces = 0;

  /**
   * @param around `before` runs before a generation (during a race it pauses the training, which
   *   would share the worker with it) and returns what to tell the person; `after` runs when the
   *   generation has ended.
   */
  constructor(
    private readonly lab: Lab,
    private readonly around: {
      before(role: Role): Promise<string | undefined>;
      after(): void;
    } = { before: async () => undefined, after: () => {} },
  ) {
    lab.onEvent((event) => {
      if (event.type !== 'piece' || event.generationId !== this.current?.id) return;
      this.text.append(event.text);
      this.pieces++;
      this.output.dataset.pieces = String(this.pieces);
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.generate();
    });
    byId('gen-model').addEventListener('change', () => this.refresh());
    this.stopButton.addEventListener('click', () => {
      const current = this.current;
      if (current === undefined) return;
      this.lab.worker(current.role).rpc.call('stopGenerating', { generationId: current.id });
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Stops a running generation and waits a moment for it to end. */
  async stop(): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    await this.lab.worker(current.role).rpc.call('stopGenerating', { generationId: current.id });
    while (this.current !== undefined) await new Promise((r) => setTimeout(r, 20));
  }

  /** Enables the buttons according to what exists. */
  refresh(): void {
    const role = byId('gen-model', HTMLSelectElement).value as Role;
    this.generateButton.disabled = this.busy || this.lab.models[role] === undefined;
    this.stopButton.disabled = !this.busy;
  }

  private read(): Omit<GenerateParams, 'generationId'> | string {
    const number = (id: string) => Number(byId(id, HTMLInputElement).value);
    const temperature = number('temperature');
    const topK = number('top-k');
    const topP = number('top-p');
    const maxNewTokens = number('max-tokens');
    if (!(temperature >= 0 && temperature <= 5)) return 'Temperature must be from 0 to 5.';
    if (!(Number.isInteger(topK) && topK >= 0)) return 'Top-k must be a whole number ≥ 0.';
    if (!(topP > 0 && topP <= 1)) return 'Top-p must be above 0 and at most 1.';
    if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1 && maxNewTokens <= 5000))
      return 'Characters to generate must be a whole number from 1 to 5000.';
    const prompt = byId('prompt', HTMLTextAreaElement).value;
    return { prompt, temperature, topK, topP, maxNewTokens };
  }

  private async generate(): Promise<void> {
    const role = byId('gen-model', HTMLSelectElement).value as Role;
    if (this.lab.models[role] === undefined) {
      this.status.textContent = `There is no ${ROLE_LABEL[role]} model yet: start a race or load a checkpoint.`;
      return;
    }
    const params = this.read();
    if (typeof params === 'string') {
      this.status.textContent = params;
      return;
    }
    const id = this.nextId++;
    this.current = { role, id };
    this.pieces = 0;
    this.output.dataset.pieces = '0';
    this.output.dataset.state = 'streaming';
    (this.output.querySelector('.prompt-echo') as HTMLElement).textContent = params.prompt;
    this.text.textContent = '';
    this.output.setAttribute('aria-busy', 'true');
    this.status.textContent = `Generating with ${ROLE_LABEL[role]}…`;
    this.refresh();
    let paused: string | undefined;
    try {
      paused = await this.around.before(role);
      if (paused) this.status.textContent = `Generating with ${ROLE_LABEL[role]}… ${paused}`;
      const outcome = await this.lab
        .worker(role)
        .rpc.call('generate', { ...params, generationId: id });
      const why = outcome.stoppedBy === 'abort' ? ', stopped' : '';
      this.status.textContent = `${ROLE_LABEL[role]} generated ${outcome.characters} characters in ${formatDuration(outcome.ms)}${why}.${paused ? ' The race goes on.' : ''}`;
    } catch (error) {
      this.status.textContent = `Generation failed: ${(error as Error).message}`;
    } finally {
      this.current = undefined;
      this.output.setAttribute('aria-busy', 'false');
      this.output.dataset.state = 'done';
      this.refresh();
      if (paused !== undefined) this.around.after();
    }
  }
}
