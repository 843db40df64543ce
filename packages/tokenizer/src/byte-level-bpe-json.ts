/**
 * Reading a byte-level BPE `tokenizer.json` (ours, GPT-2's, or any with a ByteLevel
 * pre-tokenizer and decoder and a BPE model) into the parts of a `ByteLevelBpeTokenizer`, with
 * every check that keeps a malformed, corrupted or hostile file from loading as a silently
 * different tokenizer.
 */

import { describeValue } from '@primer-ez/input-checks';
import { BYTE_TO_CHAR, tokenStringToBytes } from './byte-level.js';
import type { ByteLevelBpeInit } from './byte-level-bpe.js';
import { TokenizerJsonError } from './errors.js';
import { type LoadTokenizerOptions, resolveLoadOptions } from './limits.js';
import { parseTokenizerJsonInput } from './parse-input.js';
import {
  BPE_MODEL_FIELDS,
  checkDocumentFields,
  expectAbsentOr,
  expectArray,
  expectKnownFields,
  expectObject,
  expectOptionalBoolean,
  expectString,
  layoutIds,
  readAddedTokens,
  readComponent,
  readVocab,
  vocabPath,
} from './tokenizer-json.js';
import { preview } from './unicode.js';

const BYTE_LEVEL_FIELDS = ['type', 'add_prefix_space', 'trim_offsets', 'use_regex'] as const;

/** Reads and checks a byte-level BPE `tokenizer.json`; throws a `TokenizerJsonError` naming the field. */
export function readByteLevelBpeJson(
  input: unknown,
  options?: LoadTokenizerOptions,
): ByteLevelBpeInit {
  const limits = resolveLoadOptions(options);
  const json = parseTokenizerJsonInput(input, limits);
  checkDocumentFields(json);
  checkByteLevelPipeline(json);
  const model = expectObject(json.model, 'model');
  checkBpeModelOptions(model);
  const added = readAddedTokens(json);
  const vocab = readVocab(model, limits.maxVocabSize);
  const byId = layoutIds(vocab, added, limits.maxVocabSize);
  const tokens = byId.map((token, id) => {
    if (token === undefined) return undefined;
    const bytes = tokenStringToBytes(token);
    if (bytes === undefined) {
      throw new TokenizerJsonError(
        vocabPath(token),
        `id ${id} is not a byte-level token: it contains a character outside GPT-2's 256 byte characters`,
      );
    }
    return bytes;
  });
  const index = new Map(vocab);
  BYTE_TO_CHAR.forEach((char, byte) => {
    const id = index.get(char);
    if (id === undefined || tokens[id] === undefined) {
      throw new TokenizerJsonError(
        'model.vocab',
        `no token for byte 0x${byte.toString(16).padStart(2, '0')} (${preview(char)}); byte-level BPE needs all 256 single-byte tokens`,
      );
    }
  });
  const merges = readMerges(expectArray(model.merges, 'model.merges'), index, tokens);
  const ignoreMerges = model.ignore_merges === true;
  if (!ignoreMerges) checkEveryTokenIsMade(tokens, merges, byId, index);
  return { tokens, merges, specialTokens: added, ignoreMerges };
}

/** Reads merges written as `"a b"` strings or `["a", "b"]` pairs into pairs of ids. */
function readMerges(
  list: readonly unknown[],
  index: ReadonlyMap<string, number>,
  tokens: readonly (Uint8Array | undefined)[],
): [number, number][] {
  const seen = new Map<string, number>();
  return Array.from(list, (entry, i): [number, number] => {
    const path = `model.merges[${i}]`;
    let pair: [string, string];
    if (typeof entry === 'string') {
      const space = entry.indexOf(' ');
      if (space < 0 || entry.indexOf(' ', space + 1) >= 0) {
        throw new TokenizerJsonError(
          path,
          `${preview(entry)} must be two tokens separated by one space`,
        );
      }
      pair = [entry.slice(0, space), entry.slice(space + 1)];
    } else {
      const items = expectArray(entry, path);
      if (items.length !== 2)
        throw new TokenizerJsonError(path, `expected two tokens, got ${items.length}`);
      pair = [expectString(items[0], `${path}[0]`), expectString(items[1], `${path}[1]`)];
    }
    const [left, right] = pair.map((token) => {
      const id = index.get(token);
      if (id === undefined || tokens[id] === undefined) {
        throw new TokenizerJsonError(path, `token ${preview(token)} is not in model.vocab`);
      }
      return id;
    }) as [number, number];
    const joined = `${pair[0]}${pair[1]}`;
    if (!index.has(joined)) {
      throw new TokenizerJsonError(
        path,
        `the merged token ${preview(joined)} is not in model.vocab`,
      );
    }
    const key = `${left},${right}`;
    const first = seen.get(key);
    if (first !== undefined) throw new TokenizerJsonError(path, `repeats model.merges[${first}]`);
    seen.set(key, i);
    return [left, right];
  });
}

/**
 * Every ordinary token longer than one byte must be the result of some merge; otherwise the
 * tokenizer could never produce it. Real byte-level BPE files (GPT-2's, and every file this
 * package writes) have exactly one token per byte and per merge, so a token that no merge makes
 * means the merges were cut short or corrupted. (With `ignore_merges` a token is also reached
 * by looking the whole pre-token up, so the check does not apply.)
 */
function checkEveryTokenIsMade(
  tokens: readonly (Uint8Array | undefined)[],
  merges: readonly (readonly [number, number])[],
  byId: readonly (string | undefined)[],
  index: ReadonlyMap<string, number>,
): void {
  const made = new Uint8Array(tokens.length);
  for (const [left, right] of merges) made[index.get(`${byId[left]}${byId[right]}`) as number] = 1;
  tokens.forEach((bytes, id) => {
    if (bytes !== undefined && bytes.length > 1 && made[id] === 0) {
      const token = byId[id] as string;
      throw new TokenizerJsonError(
        vocabPath(token),
        `id ${id} is never produced: no entry of model.merges makes ${preview(token)}, so the merges ` +
          'are incomplete or corrupted. Add the missing merge, list the token in added_tokens, or set ' +
          'model.ignore_merges to true if whole pre-tokens are meant to be looked up',
      );
    }
  });
}

function checkByteLevelPipeline(json: Record<string, unknown>): void {
  expectAbsentOr(json.truncation, [], 'truncation', 'truncation would cut the ids; set it to null');
  expectAbsentOr(json.padding, [], 'padding', 'padding would add ids; set it to null');
  if (json.normalizer !== null && json.normalizer !== undefined) {
    const type = readComponent(json.normalizer, 'normalizer')?.type as string;
    throw new TokenizerJsonError(
      'normalizer',
      `normalizer ${preview(type)} is not supported; byte-level BPE here has no normalizer (null)`,
    );
  }
  const pre = readComponent(json.pre_tokenizer, 'pre_tokenizer');
  if (pre?.type !== 'ByteLevel') {
    throw new TokenizerJsonError(
      'pre_tokenizer',
      `expected a "ByteLevel" pre-tokenizer, got ${pre === null ? 'null' : preview(pre.type as string)}`,
    );
  }
  checkByteLevelComponent(pre, 'pre_tokenizer');
  expectAbsentOr(
    pre.add_prefix_space,
    [false],
    'pre_tokenizer.add_prefix_space',
    'only add_prefix_space: false is supported',
  );
  expectAbsentOr(
    pre.use_regex,
    [true],
    'pre_tokenizer.use_regex',
    'only the GPT-2 split (use_regex: true) is supported',
  );
  const post = readComponent(json.post_processor, 'post_processor');
  if (post !== null && post.type !== 'ByteLevel') {
    throw new TokenizerJsonError(
      'post_processor',
      `post-processor ${preview(post.type as string)} is not supported (it adds tokens around the text); use null or "ByteLevel"`,
    );
  }
  if (post !== null) checkByteLevelComponent(post, 'post_processor');
  const decoder = readComponent(json.decoder, 'decoder');
  if (decoder?.type !== 'ByteLevel') {
    throw new TokenizerJsonError(
      'decoder',
      `expected a "ByteLevel" decoder, got ${decoder === null ? 'null' : preview(decoder.type as string)}`,
    );
  }
  checkByteLevelComponent(decoder, 'decoder');
}

/** A ByteLevel component has only boolean options (which ones matter is checked by the caller). */
function checkByteLevelComponent(component: Record<string, unknown>, path: string): void {
  expectKnownFields(component, path, BYTE_LEVEL_FIELDS);
  for (const option of BYTE_LEVEL_FIELDS.slice(1))
    expectOptionalBoolean(component[option], `${path}.${option}`);
}

function checkBpeModelOptions(model: Record<string, unknown>): void {
  if (model.type !== 'BPE') {
    throw new TokenizerJsonError(
      'model.type',
      `expected "BPE", got ${typeof model.type === 'string' ? preview(model.type) : describeValue(model.type)}`,
    );
  }
  expectKnownFields(model, 'model', BPE_MODEL_FIELDS);
  expectAbsentOr(
    model.dropout,
    [0],
    'model.dropout',
    'BPE dropout makes encoding random; set it to null',
  );
  expectAbsentOr(
    model.continuing_subword_prefix,
    [''],
    'model.continuing_subword_prefix',
    'byte-level BPE uses none; set it to null',
  );
  expectAbsentOr(
    model.end_of_word_suffix,
    [''],
    'model.end_of_word_suffix',
    'byte-level BPE uses none; set it to null',
  );
  expectAbsentOr(
    model.byte_fallback,
    [false],
    'model.byte_fallback',
    'byte-level BPE never needs it; set it to false',
  );
  expectAbsentOr(model.ignore_merges, [true, false], 'model.ignore_merges', 'expected a boolean');
  expectOptionalBoolean(model.fuse_unk, 'model.fuse_unk');
  if (model.unk_token !== null && model.unk_token !== undefined)
    expectString(model.unk_token, 'model.unk_token');
}
