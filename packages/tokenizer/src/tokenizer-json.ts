/**
 * The Hugging Face `tokenizer.json` format (the subset this package reads and writes), and
 * checks that turn malformed documents into {@link TokenizerJsonError}s naming the bad field.
 */
import { TokenizerJsonError } from './errors.js';
import type { SpecialToken } from './special-tokens.js';
import { isWellFormed } from './unicode.js';

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

/** Parses `input` (a JSON string or an already-parsed object) into a plain object. */
export function parseTokenizerJsonInput(input: unknown): Record<string, unknown> {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new TokenizerJsonError('', `the text is not valid JSON (${(error as Error).message})`);
    }
  }
  return expectObject(json, '');
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
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
      `${JSON.stringify(value)} contains a lone surrogate, which UTF-8 cannot represent`,
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
          `true is not supported (it changes how ${JSON.stringify(content)} matches surrounding text); set it to false`,
        );
      }
    }
    if (token.special !== undefined && typeof token.special !== 'boolean') {
      throw new TokenizerJsonError(
        `${path}.special`,
        `expected a boolean, got ${describe(token.special)}`,
      );
    }
    if (byContent.has(content)) {
      throw new TokenizerJsonError(
        path,
        `content ${JSON.stringify(content)} repeats added_tokens[${byContent.get(content)}]`,
      );
    }
    const other = byId.get(id);
    if (other !== undefined) {
      throw new TokenizerJsonError(
        `${path}.id`,
        `id ${id} is already used by added token ${JSON.stringify(other)}`,
      );
    }
    byContent.set(content, i);
    byId.set(id, content);
    return { content, id, special: token.special === true };
  });
}

/** Reads `model.vocab` into `[token, id]` entries, checking ids. */
export function readVocab(model: Record<string, unknown>): [string, number][] {
  const vocab = expectObject(model.vocab, 'model.vocab');
  return Object.entries(vocab).map(([token, id]) => [
    token,
    expectId(id, `model.vocab[${JSON.stringify(token)}]`),
  ]);
}

/**
 * Lays out vocabulary entries and added tokens by id. An added token may repeat a vocabulary
 * entry with the same text and id (GPT-2's `<|endoftext|>` does); any other overlap, and any id
 * with no token, is an error.
 */
export function layoutIds(
  vocab: readonly [string, number][],
  added: readonly SpecialToken[],
): (string | undefined)[] {
  let size = 0;
  for (const [, id] of vocab) size = Math.max(size, id + 1);
  for (const t of added) size = Math.max(size, t.id + 1);
  if (size > 16_777_216) {
    throw new TokenizerJsonError(
      'model.vocab',
      `ids go up to ${size - 1}, more than this package supports (16,777,215)`,
    );
  }
  const byId = new Array<string | undefined>(size);
  for (const [token, id] of vocab) {
    const other = byId[id];
    if (other !== undefined) {
      throw new TokenizerJsonError(
        `model.vocab[${JSON.stringify(token)}]`,
        `id ${id} is also used by ${JSON.stringify(other)}; every token needs its own id`,
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
        `id ${t.id} of ${JSON.stringify(t.content)} is already the vocabulary token ${JSON.stringify(other)}`,
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
        `${JSON.stringify(t.content)} has id ${t.id} here but id ${id} in model.vocab; use the same id`,
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
