/**
 * Reading a character-level `tokenizer.json` (a BPE model without merges whose ordinary tokens
 * are single characters, no pre-tokenizer, a `Fuse` decoder) into the parts of a
 * `CharTokenizer`, refusing anything it would not reproduce exactly.
 */

import { describeValue } from '@primer-ez/input-checks';
import type { CharTokenizerInit } from './char-tokenizer.js';
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
import { isSingleCodePoint, preview } from './unicode.js';

/** Reads and checks a character-level `tokenizer.json`; throws a `TokenizerJsonError` naming the field. */
export function readCharTokenizerJson(
  input: unknown,
  options?: LoadTokenizerOptions,
): CharTokenizerInit {
  const limits = resolveLoadOptions(options);
  const json = parseTokenizerJsonInput(input, limits);
  checkDocumentFields(json);
  expectAbsentOr(json.truncation, [], 'truncation', 'truncation would cut the ids; set it to null');
  expectAbsentOr(json.padding, [], 'padding', 'padding would add ids; set it to null');
  for (const field of ['normalizer', 'pre_tokenizer', 'post_processor'] as const) {
    const component = readComponent(json[field], field);
    if (component !== null) {
      throw new TokenizerJsonError(
        field,
        `${preview(component.type as string)} is not supported by the character tokenizer; set it to null`,
      );
    }
  }
  const decoder = readComponent(json.decoder, 'decoder');
  if (decoder?.type !== 'Fuse') {
    throw new TokenizerJsonError(
      'decoder',
      `expected a "Fuse" decoder, got ${decoder === null ? 'null' : preview(decoder.type as string)}`,
    );
  }
  expectKnownFields(decoder, 'decoder', ['type']);
  const model = expectObject(json.model, 'model');
  if (model.type !== 'BPE') {
    throw new TokenizerJsonError(
      'model.type',
      `expected "BPE", got ${typeof model.type === 'string' ? preview(model.type) : describeValue(model.type)}`,
    );
  }
  expectKnownFields(model, 'model', BPE_MODEL_FIELDS);
  if (expectArray(model.merges ?? [], 'model.merges').length > 0) {
    throw new TokenizerJsonError(
      'model.merges',
      'a character tokenizer has no merges; expected []',
    );
  }
  expectAbsentOr(model.dropout, [0], 'model.dropout', 'set it to null');
  expectAbsentOr(
    model.continuing_subword_prefix,
    [''],
    'model.continuing_subword_prefix',
    'set it to null',
  );
  expectAbsentOr(model.end_of_word_suffix, [''], 'model.end_of_word_suffix', 'set it to null');
  expectAbsentOr(model.byte_fallback, [false], 'model.byte_fallback', 'set it to false');
  expectAbsentOr(
    model.fuse_unk,
    [false],
    'model.fuse_unk',
    'it would merge runs of unknown characters; set it to false',
  );
  expectOptionalBoolean(model.ignore_merges, 'model.ignore_merges');
  const added = readAddedTokens(json);
  const byId = layoutIds(readVocab(model, limits.maxVocabSize), added, limits.maxVocabSize);
  if (byId.length === 0) {
    throw new TokenizerJsonError(
      'model.vocab',
      'the vocabulary is empty; a character tokenizer needs at least one token',
    );
  }
  byId.forEach((token, id) => {
    if (token !== undefined && !isSingleCodePoint(token)) {
      throw new TokenizerJsonError(
        vocabPath(token),
        `id ${id} is not a single character; a character tokenizer's ordinary tokens are single characters (list longer ones in added_tokens)`,
      );
    }
  });
  let unkToken: string | undefined;
  if (model.unk_token !== null && model.unk_token !== undefined) {
    unkToken = expectString(model.unk_token, 'model.unk_token', true);
    if (!byId.includes(unkToken) && !added.some((t) => t.content === unkToken)) {
      throw new TokenizerJsonError('model.unk_token', `${preview(unkToken)} is not in model.vocab`);
    }
  }
  return { chars: byId, specialTokens: added, ...(unkToken === undefined ? {} : { unkToken }) };
}
