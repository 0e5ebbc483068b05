#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU execution provider) peer for bench/serve_bench.sh: a
// minimal HTTP server with text-embeddings-inference's /embed API over a model written by
// bench/onnx_export.py (inputs input_ids / token_type_ids / attention_mask int64, output
// [batch, hidden] embeddings, already mean-pooled and L2-normalized).
//
// Usage:
//   node bench/ort_server.js --model MODEL.onnx --tokenizer TOKENIZER.json [--port N]
//       [--host 127.0.0.1] [--threads N] [--max-length 256]
//
//   POST /embed  {"inputs": "text" | ["text", ...], "normalize": true}  ->  [[float, ...], ...]
//   GET /health  -> 200
//
// No dynamic batching: each request is one session.run over its own inputs (tokenized with
// @anush008/tokenizers, cut at --max-length tokens, right-padded to the request's longest).
// onnxruntime-node runs the session on the main thread, so requests are served one at a time.
// Texts longer than --max-length are always truncated (TEI's --auto-truncate); "normalize":
// false is refused (422), the exported graph normalizes. Errors are {"error": ...}: malformed
// JSON or an empty list 400, other bad inputs 422 (TEI's codes; no "error_type"). Session: intraOpNumThreads = --threads, interOpNumThreads = 1,
// graphOptimizationLevel 'all', as bench/ort_bench.js. Prints "listening on HOST:PORT" when
// ready. Install: npm install --ignore-scripts --prefix bench
'use strict';

const fs = require('fs');
const http = require('http');
const util = require('util');

function usage(message) {
  if (message) console.error(`ort_server.js: ${message}`);
  console.error('usage: node bench/ort_server.js --model MODEL.onnx --tokenizer TOKENIZER.json' +
                ' [--port N] [--host 127.0.0.1] [--threads N] [--max-length 256]');
  process.exit(2);
}

// Node's own option parser (util.parseArgs); integers checked here.
function parseArgs(argv) {
  let parsed;
  try {
    parsed = util.parseArgs({
      args: argv,
      options: {
        model: { type: 'string' }, tokenizer: { type: 'string' }, port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' }, threads: { type: 'string', default: '1' },
        'max-length': { type: 'string', default: '256' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    usage(e.message);
  }
  if (parsed.help) usage();
  const integer = (flag, minimum) => {
    const value = Number(parsed[flag]);
    if (!Number.isInteger(value) || value < minimum) usage(`--${flag} wants an integer >= ${minimum}, got ${parsed[flag]}`);
    return value;
  };
  if (!parsed.model || !parsed.tokenizer) usage('wants --model and --tokenizer');
  return { model: parsed.model, tokenizer: parsed.tokenizer, host: parsed.host, port: integer('port', 0),
           threads: integer('threads', 1), maxLength: integer('max-length', 1) };
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// The request's texts, or throws {status, message}.
function parseRequest(body) {
  let request;
  try {
    request = JSON.parse(body);
  } catch (error) {
    throw { status: 400, message: `malformed JSON: ${error.message}` };
  }
  const inputs = request && typeof request.inputs === 'string' ? [request.inputs] : request && request.inputs;
  if (Array.isArray(inputs) && !inputs.length) throw { status: 400, message: '`inputs` cannot be empty' };
  if (!Array.isArray(inputs) || !inputs.every((t) => typeof t === 'string')) {
    throw { status: 422, message: '"inputs" must be a string or a list of strings' };
  }
  if (request.normalize === false) throw { status: 422, message: 'normalize: false is not supported' };
  return inputs;
}

async function embed(ort, session, tokenizer, texts) {
  const encodings = await tokenizer.encodeBatch(texts);  // padded to the longest by setPadding
  const rows = encodings.length;
  const width = encodings[0].getLength();
  const tensor = (get) => {
    const data = new BigInt64Array(rows * width);
    encodings.forEach((e, r) => get(e).forEach((v, j) => { data[r * width + j] = BigInt(v); }));
    return new ort.Tensor('int64', data, [rows, width]);
  };
  const all = { input_ids: (e) => e.getIds(), token_type_ids: (e) => e.getTypeIds(),
                attention_mask: (e) => e.getAttentionMask() };
  const feeds = {};
  for (const name of session.inputNames) feeds[name] = tensor(all[name]);
  const output = (await session.run(feeds))[session.outputNames[0]];
  const hidden = output.dims[1];
  return Array.from({ length: rows }, (_, r) => Array.from(output.data.subarray(r * hidden, (r + 1) * hidden)));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const { Tokenizer } = require('@anush008/tokenizers');
  const tokenizerJson = fs.readFileSync(args.tokenizer, 'utf8');
  const tokenizer = Tokenizer.fromString(tokenizerJson);
  // tokenizer.json may pin its own truncation/padding (e.g. fixed 128): cut at --max-length,
  // pad each batch to its longest with the file's pad token.
  const pad = JSON.parse(tokenizerJson).padding || {};
  tokenizer.setTruncation(args.maxLength);
  tokenizer.setPadding({ padId: pad.pad_id || 0, padTypeId: pad.pad_type_id || 0, padToken: pad.pad_token || '[PAD]' });
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  });

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/health') return res.writeHead(200).end();  // empty, as TEI
    if (req.method !== 'POST' || path !== '/embed') return reply(res, 404, { error: `no route ${req.method} ${path}` });
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const texts = parseRequest(Buffer.concat(chunks).toString('utf8'));
        reply(res, 200, await embed(ort, session, tokenizer, texts));
      } catch (error) {
        if (error && error.status) return reply(res, error.status, { error: error.message });
        console.error(`ort_server.js: ${error && error.stack ? error.stack : error}`);
        reply(res, 500, { error: String(error && error.message ? error.message : error) });
      }
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(args.port, args.host, () => console.log(`listening on ${args.host}:${server.address().port}`));
}

main().catch((error) => {
  console.error(`ort_server.js: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
