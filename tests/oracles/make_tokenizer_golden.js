#!/usr/bin/env node
// Writes tests/golden/tokenizer/<tokenizer>.jsonl with the ids that the Hugging Face
// tokenizers library (npm @anush008/tokenizers) gives for the texts in ../shared/data
// and for our own tricky texts (tests/golden/tokenizer/tricky_texts.jsonl).
//
// Each output line is {"source", "line", "input_ids", "token_type_ids"}: the texts are
// not copied; the C++ test re-reads line `line` (1-based, header included) of the
// source file. Padding from tokenizer.json is switched off; truncation is kept as the
// file sets it.
//
// Usage (from tests/oracles): npm install && node make_tokenizer_golden.js [shared_dir]
'use strict';

const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const repoDir = path.resolve(__dirname, '..', '..');
const sharedDir = path.resolve(process.argv[2] || path.join(repoDir, '..', 'shared'));
const goldenDir = path.join(repoDir, 'tests', 'golden', 'tokenizer');

// Every `step`-th row of each source (1 = all rows). `normalizer` (optional) replaces
// fields of the BertNormalizer, to cover the options the shared files leave at one
// setting; tokenizer_test.cpp applies the same change (keep the two in step).
const TOKENIZERS = [
  { name: 'minilm-l6-genre', file: 'models/minilm-l6-genre/tokenizer.json', step: 1 },
  { name: 'all-MiniLM-L6-v2', file: 'tokenizers/all-MiniLM-L6-v2/tokenizer.json', step: 40 },
  { name: 'all-mpnet-base-v2', file: 'tokenizers/all-mpnet-base-v2/tokenizer.json', step: 12 },
  {
    name: 'minilm-l6-genre-keep-accents', file: 'models/minilm-l6-genre/tokenizer.json', step: 50,
    normalizer: { strip_accents: false },
  },
  {
    name: 'minilm-l6-genre-cased', file: 'models/minilm-l6-genre/tokenizer.json', step: 50,
    normalizer: { lowercase: false, strip_accents: false, handle_chinese_chars: false },
  },
];

function loadTokenizer(spec) {
  const file = path.join(sharedDir, spec.file);
  if (!spec.normalizer) return Tokenizer.fromFile(file);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  Object.assign(json.normalizer, spec.normalizer);
  return Tokenizer.fromString(JSON.stringify(json));
}

function readLines(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Returns [{source, line, a, b}] for every input the goldens cover.
function collectInputs(step) {
  const inputs = [];
  const add = (source, line, a, b) => inputs.push({ source, line, a, b });
  const take = (i) => i % step === 0;

  readLines(path.join(sharedDir, 'data/genre/dev_a.jsonl')).forEach((l, i) => {
    if (take(i)) add('data/genre/dev_a.jsonl#text', i + 1, JSON.parse(l).text, null);
  });
  readLines(path.join(sharedDir, 'data/mnli/dev_a.jsonl')).forEach((l, i) => {
    const row = JSON.parse(l);
    if (take(i)) add('data/mnli/dev_a.jsonl#premise+hypothesis', i + 1, row.premise, row.hypothesis);
  });
  readLines(path.join(sharedDir, 'data/stsb/dev_a.tsv')).forEach((l, i) => {
    if (i === 0 || !take(i)) return;  // header
    const cols = l.split('\t');
    add('data/stsb/dev_a.tsv#1', i + 1, cols[0], null);
    add('data/stsb/dev_a.tsv#2', i + 1, cols[1], null);
    add('data/stsb/dev_a.tsv#1+2', i + 1, cols[0], cols[1]);
  });
  readLines(path.join(sharedDir, 'data/sst2/dev.tsv')).forEach((l, i) => {
    if (i === 0 || !take(i)) return;  // header
    add('data/sst2/dev.tsv#1', i + 1, l.split('\t')[0], null);
  });
  readLines(path.join(goldenDir, 'tricky_texts.jsonl')).forEach((l, i) => {
    const row = JSON.parse(l);
    add('tricky_texts.jsonl#text+pair', i + 1, row.text, row.pair === undefined ? null : row.pair);
  });
  return inputs;
}

async function main() {
  for (const spec of TOKENIZERS) {
    const tokenizer = loadTokenizer(spec);
    tokenizer.disablePadding();
    const out = [];
    for (const input of collectInputs(spec.step)) {
      const enc = await tokenizer.encode(input.a, input.b);
      out.push(JSON.stringify({
        source: input.source,
        line: input.line,
        input_ids: enc.getIds(),
        token_type_ids: enc.getTypeIds(),
      }));
    }
    const target = path.join(goldenDir, `${spec.name}.jsonl`);
    fs.writeFileSync(target, out.join('\n') + '\n');
    console.error(`${target}: ${out.length} lines`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
