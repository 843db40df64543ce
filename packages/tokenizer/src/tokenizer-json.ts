/**
 * The Hugging Face `tokenizer.json` format (the subset this package reads and writes), and
 * checks that turn malformed documents into {@link TokenizerJsonError}s naming the bad field.
 */
import { describeValue } from '@primer-ez/input-checks';
import { TokenizerJsonError } from './errors.js';
import type { SpecialToken } from './special-tokens.js';
import { isWellFormed, preview } from './unicode.js';

/** An entry of `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** A pre-tokenizer, post-processor or decoder component. */
export interface ComponentJson {
  type: string;
  [option: string]: unknown;
}

/** The `model` section of a BPE `tokenizer.json`. */
export interface BpeModelJson {
  type: 'BPE';
  dropout: number | null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: string[] | [string, string][];
}

/** A Hugging Face `tokenizer.json` document as written by this package. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: ComponentJson | null;
  post_processor: ComponentJson | null;
  decoder: ComponentJson;
  model: BpeModelJson;
}

/**
 * A minimal `tokenizer_config.json`. `clean_up_tokenization_spaces: false` matters: with the
 * default (`true`) transformers rewrites `" ."` to `"."` etc. when decoding.
 */
export interface TokenizerConfigJson {
  tokenizer_class: 'PreTrainedTokenizerFast';
  clean_up_tokenization_spaces: false;
  model_max_length?: number;
  unk_token?: string;
}

/** Describes a field's value for an error message (`nothing` when it is missing). */
function describe(value: unknown): string {
  return value === undefined ? 'nothing (the field is missing)' : describeValue(value);
}

/** Fields of the `tokenizer.json` document that this package reads. */
export const DOCUMENT_FIELDS = [
  'version',
  'truncation',
  'padding',
  'added_tokens',
  'normalizer',
  'pre_tokenizer',
  'post_processor',
  'decoder',
  'model',
] as const;

/** Fields of a BPE `model`. */
export const BPE_MODEL_FIELDS = [
  'type',
  'dropout',
  'unk_token',
  'continuing_subword_prefix',
  'end_of_word_suffix',
  'fuse_unk',
  'byte_fallback',
  'ignore_merges',
  'vocab',
  'merges',
] as const;

/** Fields of an `added_tokens` entry. */
const ADDED_TOKEN_FIELDS = [
  'id',
  'content',
  'single_word',
  'lstrip',
  'rstrip',
  'normalized',
  'special',
] as const;

/**
 * Refuses fields outside `known`: an unknown (or misspelt, or corrupted) field may change what
 * the tokenizer does, so it is an error rather than silently ignored.
 */
export function expectKnownFields(
  object: Record<string, unknown>,
  path: string,
  known: readonly string[],
): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw new TokenizerJsonError(
        path,
        `unknown field ${preview(key)}; expected only ${known.join(', ')}. Unknown fields are refused ` +
          'because they may change the tokenizer; remove it or correct its name',
      );
    }
  }
}

/** Checks the document's own fields: only known ones, and `version` "1.0" when present. */
export function checkDocumentFields(json: Record<string, unknown>): void {
  expectKnownFields(json, '', DOCUMENT_FIELDS);
  if (json.version !== undefined && json.version !== '1.0') {
    throw new TokenizerJsonError(
      'version',
      `${describe(json.version)} is not supported; the format version is "1.0"`,
    );
  }
}

/** Requires `value` to be absent, `null` or a boolean. */
export function expectOptionalBoolean(value: unknown, path: string): void {
  if (value !== undefined && value !== null && typeof value !== 'boolean')
    throw new TokenizerJsonError(path, `expected a boolean, got ${describe(value)}`);
}

/** Requires a plain object. */
export function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenizerJsonError(path, `expected an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Requires an array. */
export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value))
    throw new TokenizerJsonError(path, `expected an array, got ${describe(value)}`);
  return value;
}

/** Requires a string (optionally non-empty and well-formed). */
export function expectString(value: unknown, path: string, nonEmpty = false): string {
  if (typeof value !== 'string')
    throw new TokenizerJsonError(path, `expected a string, got ${describe(value)}`);
  if (nonEmpty && value.length === 0)
    throw new TokenizerJsonError(path, 'expected a non-empty string');
  if (!isWellFormed(value)) {
    throw new TokenizerJsonError(
      path,
      `${preview(value)} contains a lone surrogate, which UTF-8 cannot represent`,
    );
  }
  return value;
}

/** Requires a non-negative integer id. */
export function expectId(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7ffffffe) {
    throw new TokenizerJsonError(
      path,
      `expected a token id (an integer ≥ 0), got ${describe(value)}`,
    );
  }
  return value;
}

/** Requires `value` to be absent, `null`, or one of `allowed`; `why` explains the restriction. */
export function expectAbsentOr(
  value: unknown,
  allowed: readonly unknown[],
  path: string,
  why: string,
): void {
  if (value === undefined || value === null || allowed.includes(value)) return;
  throw new TokenizerJsonError(path, `${describe(value)} is not supported: ${why}`);
}

/** Requires a `{ type: ... }` component (or `null` when `nullable`) and returns it. */
export function readComponent(value: unknown, path: string): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  const component = expectObject(value, path);
  expectString(component.type, `${path}.type`);
  return component;
}

/** Reads and checks `added_tokens` (missing means none). */
export function readAddedTokens(json: Record<string, unknown>): SpecialToken[] {
  if (json.added_tokens === undefined || json.added_tokens === null) return [];
  const list = expectArray(json.added_tokens, 'added_tokens');
  const byContent = new Map<string, number>();
  const byId = new Map<number, string>();
  return Array.from(list, (entry, i) => {
    const path = `added_tokens[${i}]`;
    const token = expectObject(entry, path);
    expectKnownFields(token, path, ADDED_TOKEN_FIELDS);
    const id = expectId(token.id, `${path}.id`);
    const content = expectString(token.content, `${path}.content`, true);
    for (const flag of ['single_word', 'lstrip', 'rstrip'] as const) {
      if (token[flag] !== undefined && typeof token[flag] !== 'boolean') {
        throw new TokenizerJsonError(
          `${path}.${flag}`,
          `expected a boolean, got ${describe(token[flag])}`,
        );
      }
      if (token[flag] === true) {
        throw new TokenizerJsonError(
          `${path}.${flag}`,
          `true is not supported (it changes how ${preview(content)} matches surrounding text); set it to false`,
        );
      }
    }
    expectOptionalBoolean(token.special, `${path}.special`);
    expectOptionalBoolean(token.normalized, `${path}.normalized`);
    if (byContent.has(content)) {
      throw new TokenizerJsonError(
        path,
        `content ${preview(content)} repeats added_tokens[${byContent.get(content)}]`,
      );
    }
    const other = byId.get(id);
    if (other !== undefined) {
      throw new TokenizerJsonError(
        `${path}.id`,
        `id ${id} is already used by added token ${preview(other)}`,
      );
    }
    byContent.set(content, i);
    byId.set(id, content);
    return { content, id, special: token.special === true };
  });
}

/** Reads `model.vocab` into `[token, id]` entries, checking ids and the number of entries. */
export function readVocab(
  model: Record<string, unknown>,
  maxVocabSize: number,
): [string, number][] {
  const vocab = expectObject(model.vocab, 'model.vocab');
  const tokens = Object.keys(vocab);
  if (tokens.length > maxVocabSize) {
    throw new TokenizerJsonError(
      'model.vocab',
      `${tokens.length} entries are more than the limit of ${maxVocabSize}; ` +
        'if the file is genuine, raise the limit with the maxVocabSize option',
    );
  }
  return tokens.map((token) => [token, expectId(vocab[token], vocabPath(token))]);
}

/** The JSON path of a vocabulary entry, e.g. `model.vocab["Ġthe"]`. */
export function vocabPath(token: string): string {
  return `model.vocab[${preview(token)}]`;
}

/**
 * Lays out vocabulary entries and added tokens by id. An added token may repeat a vocabulary
 * entry with the same text and id (GPT-2's `<|endoftext|>` does); any other overlap, and any id
 * with no token, is an error.
 */
export function layoutIds(
  vocab: readonly [string, number][],
  added: readonly SpecialToken[],
  maxVocabSize: number,
): (string | undefined)[] {
  let size = 0;
  for (const [, id] of vocab) size = Math.max(size, id + 1);
  for (const t of added) size = Math.max(size, t.id + 1);
  if (size > maxVocabSize) {
    throw new TokenizerJsonError(
      'model.vocab',
      `ids go up to ${size - 1}, more than the limit of ${maxVocabSize} tokens; ` +
        'if the file is genuine, raise the limit with the maxVocabSize option',
    );
  }
  // More ids than entries means a gap: find it without allocating `size` slots, so that a tiny
  // file with one huge id cannot make us allocate a huge table.
  const count = vocab.length + added.length;
  if (size > count) {
    const present = new Uint8Array(count);
    for (const [, id] of vocab) if (id < count) present[id] = 1;
    for (const t of added) if (t.id < count) present[t.id] = 1;
    throw new TokenizerJsonError(
      'model.vocab',
      `no token has id ${present.indexOf(0)}; ids must run from 0 to ${size - 1} without gaps`,
    );
  }
  const byId = new Array<string | undefined>(size);
  for (const [token, id] of vocab) {
    const other = byId[id];
    if (other !== undefined) {
      throw new TokenizerJsonError(
        vocabPath(token),
        `id ${id} is also used by ${preview(other)}; every token needs its own id`,
      );
    }
    byId[id] = token;
  }
  const addedIds = new Set<number>();
  for (const [i, t] of added.entries()) {
    const other = byId[t.id];
    if (other !== undefined && other !== t.content) {
      throw new TokenizerJsonError(
        `added_tokens[${i}].id`,
        `id ${t.id} of ${preview(t.content)} is already the vocabulary token ${preview(other)}`,
      );
    }
    addedIds.add(t.id);
  }
  const vocabIndex = new Map(vocab);
  for (const [i, t] of added.entries()) {
    const id = vocabIndex.get(t.content);
    if (id !== undefined && id !== t.id) {
      throw new TokenizerJsonError(
        `added_tokens[${i}]`,
        `${preview(t.content)} has id ${t.id} here but id ${id} in model.vocab; use the same id`,
      );
    }
  }
  for (let id = 0; id < size; id++) {
    if (byId[id] === undefined && !addedIds.has(id)) {
      throw new TokenizerJsonError(
        'model.vocab',
        `no token has id ${id}; ids must run from 0 to ${size - 1} without gaps`,
      );
    }
  }
  for (const id of addedIds) byId[id] = undefined;
  return byId;
}

/** Builds the `added_tokens` entries for `tokens`. */
export function addedTokensJson(tokens: readonly SpecialToken[]): AddedTokenJson[] {
  return tokens.map((t) => ({
    id: t.id,
    content: t.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: t.special,
  }));
}

/** A null-prototype record, safe for arbitrary keys such as `__proto__`. */
export function vocabRecord(entries: Iterable<[string, number]>): Record<string, number> {
  const record = Object.create(null) as Record<string, number>;
  for (const [token, id] of entries) record[token] = id;
  return record;
}
