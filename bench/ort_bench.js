#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU execution provider) baseline for quantpipe's embedding
// benchmark: the same ids, batching and timing as bench/torch_bert_bench.py, on a model
// written by bench/onnx_export.py (inputs input_ids / token_type_ids / attention_mask int64,
// output [batch, hidden] embeddings).
//
// Usage:
//   node bench/ort_bench.js MODEL.onnx IDS.jsonl [--threads N] [--batch-size N] [--runs N]
//       [--warmup N] [--engine-name NAME] [--pad-id N] [--dump-embeddings FILE]
//
// IDS.jsonl: one {"input_ids": [...], "token_type_ids": [...]} per line (token_type_ids
// optional), as `quantpipe tokenize` writes. Batches are taken in file order and right-padded
// to their longest sequence (ids with --pad-id, token types with 0, mask 0), exactly as
// torch_encoders.pad_batch does. Tensors are built before timing; a timed run is one pass of
// session.run over all batches. Prints one JSON line with torch_bert_bench.py's keys
// (batch_latency_ms.p50: the median time of one session.run over all timed passes).
//
// Session: intraOpNumThreads = --threads, interOpNumThreads = 1, graphOptimizationLevel
// 'all', sequential execution. Install the runtime with
//   npm install --ignore-scripts --prefix bench
// (--ignore-scripts: the package's postinstall fetches CUDA files; the CPU binaries are in
// the npm tarball itself).
'use strict';

const fs = require('fs');

function usage(message) {
  if (message) console.error(`ort_bench.js: ${message}`);
  console.error('usage: node bench/ort_bench.js MODEL.onnx IDS.jsonl [--threads N] [--batch-size N]' +
                ' [--runs N] [--warmup N] [--engine-name NAME] [--pad-id N] [--dump-embeddings FILE]');
  process.exit(2);
}

function parseArgs(argv) {
  const args = { threads: 1, batchSize: 32, runs: 3, warmup: 1, engineName: 'onnxruntime',
                 padId: 0, dumpEmbeddings: null, positional: [] };
  const integer = (flag, text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) usage(`${flag} wants a non-negative integer, got ${text}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : usage(`${arg} needs a value`));
    switch (arg) {
      case '--threads': args.threads = integer(arg, next()); break;
      case '--batch-size': args.batchSize = integer(arg, next()); break;
      case '--runs': args.runs = integer(arg, next()); break;
      case '--warmup': args.warmup = integer(arg, next()); break;
      case '--engine-name': args.engineName = next(); break;
      case '--pad-id': args.padId = integer(arg, next()); break;
      case '--dump-embeddings': args.dumpEmbeddings = next(); break;
      case '-h': case '--help': usage(); break;
      default:
        if (arg.startsWith('--')) usage(`unknown option ${arg}`);
        args.positional.push(arg);
    }
  }
  if (args.positional.length !== 2) usage('wants MODEL.onnx and IDS.jsonl');
  if (args.threads < 1 || args.batchSize < 1) usage('--threads and --batch-size must be at least 1');
  [args.model, args.ids] = args.positional;
  return args;
}

function readIds(path) {
  const sequences = fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  if (!sequences.length) throw new Error(`${path}: no sequences`);
  return sequences;
}

// Right-pads a batch into [B, Lmax] int64 tensors, as torch_encoders.pad_batch.
function padBatch(ort, sequences, padId) {
  const longest = Math.max(...sequences.map((s) => s.input_ids.length));
  const size = sequences.length * longest;
  const ids = new BigInt64Array(size).fill(BigInt(padId));
  const types = new BigInt64Array(size);
  const mask = new BigInt64Array(size);
  sequences.forEach((s, row) => {
    const base = row * longest;
    s.input_ids.forEach((id, j) => { ids[base + j] = BigInt(id); mask[base + j] = 1n; });
    (s.token_type_ids || []).forEach((t, j) => { types[base + j] = BigInt(t); });
  });
  const dims = [sequences.length, longest];
  return {
    feeds: { input_ids: new ort.Tensor('int64', ids, dims), token_type_ids: new ort.Tensor('int64', types, dims),
             attention_mask: new ort.Tensor('int64', mask, dims) },
    padded: size,
  };
}

// Appends each batch's seconds to batchSeconds when given.
async function embedAll(session, batches, batchSeconds) {
  const outputs = [];
  for (const feeds of batches) {
    const start = process.hrtime.bigint();
    const result = await session.run(feeds);
    if (batchSeconds) batchSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    outputs.push(result[session.outputNames[0]]);
  }
  return outputs;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const sequences = readIds(args.ids);
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const wanted = new Set(session.inputNames);
  const batches = [];
  let paddedTokens = 0;
  for (let start = 0; start < sequences.length; start += args.batchSize) {
    const { feeds, padded } = padBatch(ort, sequences.slice(start, start + args.batchSize), args.padId);
    for (const name of Object.keys(feeds)) if (!wanted.has(name)) delete feeds[name];
    batches.push(feeds);
    paddedTokens += padded;
  }
  for (let i = 0; i < args.warmup; i++) await embedAll(session, batches);
  const seconds = [];
  const batchSeconds = [];
  let outputs = null;
  for (let i = 0; i < Math.max(1, args.runs); i++) {
    const start = process.hrtime.bigint();
    outputs = await embedAll(session, batches, batchSeconds);
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const secondsMedian = median(seconds);
  const tokens = sequences.reduce((n, s) => n + s.input_ids.length, 0);
  console.log(JSON.stringify({
    engine: args.engineName, runtime: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`,
    threads: args.threads, batch_size: args.batchSize, sorted_by_length: false, runs: args.runs,
    sentences: sequences.length, tokens, padded_tokens: paddedTokens, seconds_median: secondsMedian,
    sentences_per_s: sequences.length / secondsMedian, tokens_per_s: tokens / secondsMedian,
    batch_latency_ms: { p50: median(batchSeconds) * 1e3 },
  }));
  if (args.dumpEmbeddings) {
    const lines = [];
    for (const tensor of outputs) {
      const [rows, width] = tensor.dims;
      for (let r = 0; r < rows; r++) {
        lines.push(JSON.stringify({ embedding: Array.from(tensor.data.subarray(r * width, (r + 1) * width)) }));
      }
    }
    fs.writeFileSync(args.dumpEmbeddings, lines.join('\n') + '\n');
  }
}

main().catch((error) => {
  console.error(`ort_bench.js: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
