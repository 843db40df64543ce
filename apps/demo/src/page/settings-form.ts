// The settings form: presets fill the fields, edited sizes turn the preset into "custom", and
// problems are shown next to the form and on the fields themselves (aria-invalid).
import {
  DEFAULT_TRAINING,
  FIELDS,
  type Field,
  type FieldError,
  PRESET_SIZES,
  parseSettings,
  presetOf,
  type RaceSettings,
} from '../shared/settings.js';
import { byId } from './dom.js';

const SIZE_FIELDS = ['d_model', 'n_heads', 'n_layers', 'd_ff', 'max_seq_len'] as const;

export class SettingsForm {
  readonly form = byId('settings', HTMLFormElement);
  private readonly errors = byId('form-errors');

  constructor() {
    const preset = this.input('preset') as HTMLSelectElement;
    preset.addEventListener('change', () => {
      if (preset.value === 'tiny' || preset.value === 'small') this.fillPreset(preset.value);
    });
    for (const field of SIZE_FIELDS) {
      this.input(field).addEventListener('input', () => this.sizesEdited());
    }
    this.fillPreset('tiny');
  }

  /** Fills the sizes and the suggested training settings of a preset. */
  fillPreset(name: 'tiny' | 'small'): void {
    const sizes = PRESET_SIZES[name];
    const training = DEFAULT_TRAINING[name];
    this.set({
      preset: name,
      ...Object.fromEntries(SIZE_FIELDS.map((f) => [f, String(sizes[f])])),
      steps: String(training.steps),
      lr: String(training.lr),
      batch_size: String(training.batchSize),
      seq_len: String(sizes.max_seq_len),
      eval_every: String(training.evalEvery),
      seed: String(training.seed),
    });
  }

  /** The fields' values, as text. */
  values(): Record<Field, string> {
    return Object.fromEntries(FIELDS.map((f) => [f, this.input(f).value])) as Record<Field, string>;
  }

  /** Sets fields (unknown keys are ignored). */
  set(values: Readonly<Partial<Record<string, string>>>): void {
    for (const field of FIELDS) {
      const value = values[field];
      if (value !== undefined) this.input(field).value = value;
    }
    this.syncSeqLen();
  }

  /** The checked settings, or undefined after showing what is wrong. */
  read(): RaceSettings | undefined {
    const result = parseSettings(this.values());
    this.show(result.errors);
    return result.settings;
  }

  /** Shows problems (also ones found elsewhere, e.g. a text too short for the sequence length). */
  show(errors: readonly FieldError[], extra: readonly string[] = []): void {
    for (const field of FIELDS) this.input(field).removeAttribute('aria-invalid');
    this.errors.replaceChildren();
    const messages = [...errors.map((e) => e.message), ...extra];
    if (messages.length === 0) return;
    const list = document.createElement('ul');
    for (const message of messages) {
      const item = document.createElement('li');
      item.textContent = message;
      list.append(item);
    }
    this.errors.append(list);
    for (const error of errors) this.input(error.field).setAttribute('aria-invalid', 'true');
    if (errors[0]) this.input(errors[0].field).focus();
  }

  /** Disables the fields while a race runs. */
  lock(locked: boolean): void {
    for (const field of FIELDS) this.input(field).disabled = locked;
  }

  private sizesEdited(): void {
    const sizes = Object.fromEntries(
      SIZE_FIELDS.map((f) => [f, Number(this.input(f).value)]),
    ) as Record<(typeof SIZE_FIELDS)[number], number>;
    (this.input('preset') as HTMLSelectElement).value = presetOf(sizes);
    this.syncSeqLen();
  }

  /** The sequence length cannot exceed the context length. */
  private syncSeqLen(): void {
    const max = Number(this.input('max_seq_len').value);
    const seqLen = this.input('seq_len') as HTMLInputElement;
    if (Number.isInteger(max) && max > 0) {
      seqLen.max = String(max);
      if (Number(seqLen.value) > max) seqLen.value = String(max);
    }
  }

  private input(field: Field): HTMLInputElement | HTMLSelectElement {
    const element = this.form.elements.namedItem(field);
    if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement))
      throw new Error(`the settings form has no field ${field}`);
    return element;
  }
}
