import fc from 'fast-check';

/** Fragments that exercise every branch of GPT-2 pre-tokenisation and of UTF-8. */
const FRAGMENTS = [
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\t',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u0085',
  "'s",
  "'t",
  "'re",
  "'ve",
  "'m",
  "'ll",
  "'d",
  "'",
  'S',
  'll',
  'a',
  'Hello',
  'é',
  'e\u0301',
  'ß',
  '中文',
  '𝐀',
  '😀',
  '👩‍👩‍👧',
  '0',
  '42',
  '١٢',
  '½',
  '!',
  '...',
  '—',
  '\ud800',
  '\udc00',
  '\udbff',
  '\uFFFD',
  '\u0000',
  '\u007f',
  '<|endoftext|>',
  '<|',
];

/** One unit of an adversarial string: a fragment, any code point, or a lone surrogate. */
export const nastyUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  },
);

/** Strings built from {@link nastyUnit}s, lone surrogates included. */
export function nastyString(maxLength = 40): fc.Arbitrary<string> {
  return fc.string({ unit: nastyUnit, maxLength });
}
