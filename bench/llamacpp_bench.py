"""llama.cpp peer for quantpipe's embedding benchmark (llama-cpp-python): a BERT converted to
GGUF and quantized to Q8_0 or Q4_0, embedded with mean pooling, then L2 normalized, timed
like bench/torch_bert_bench.py.

Usage (in the peers venv, see scripts/install-peers.sh):
  ../venvs/peers/bin/python bench/llamacpp_bench.py MODEL IDS.jsonl [--threads N]
      [--batch-size N] [--runs N] [--warmup N] [--quant q8_0|q4_0|f32]
      [--convert-script PATH] [--save OUT.gguf] [--engine-name NAME] [--dump-embeddings FILE]

MODEL: a .gguf file (used as it is; --quant only names the row, except with --save, which
quantizes it to --quant), or a sentence-transformers BERT directory, which is converted first: llama.cpp's own convert_hf_to_gguf.py (the one in
the llama-cpp-python sdist's vendor/llama.cpp, which scripts/install-peers.sh unpacks next to
the venv; --convert-script, default $VENV/src/llama_cpp_python-*/vendor/llama.cpp/...) writes
an f32 GGUF, and llama_model_quantize makes the --quant copy from it (Q8_0: int8 blocks of
32 with one fp16 scale; Q4_0: 4-bit blocks of 32, one scale; 1-D tensors stay f32).
--save OUT.gguf does the conversion (with --quant f32, only that) and/or quantization,
writes there and exits without timing. The convert
script wants torch >= 2.1 for a few dtype names at import; with Debian's torch 1.13 the names
it never uses here (float8, uint16/32/64) are stubbed before it runs.

IDS.jsonl: one {"input_ids": [...], ...} per line, as `quantpipe tokenize` writes; the ids
are fed as they are (the GGUF keeps the WordPiece ids). llama.cpp's BERT graph has no input
for token types (every token gets type 0), so inputs with a non-zero token type are refused.

Batching, and how it differs from the other peers: --batch-size sequences go into one
llama_decode call as separate sequence ids (what llama.cpp's own embedding example and
Llama.embed do), no padding. llama.cpp runs a non-causal model's whole batch as one ubatch
and computes attention over all tokens of the ubatch, masking other sequences' tokens, so
attention costs batch-size times what padded [B, L] attention costs (32 x 128 tokens:
4096 x 4096 scores per head instead of 32 x 128 x 128), and more sequences per call is
slower, not faster. MiniLM-L6 Q8_0, 32 x 128 tokens, 1 thread (2-core AMD EPYC, AVX2):
    sequences per llama_decode    32      8      1
    sequences/s                  1.4    3.9   10.4
    with --flash-attn            3.6    5.2   11.2
(CTranslate2 int8, batch 32, same inputs: 23 seq/s.) So bench/compare_peers.sh runs llama.cpp
with one sequence per call (LLAMACPP_BATCH, default 1) and names the rows accordingly; its
batch p50 is then the time of one sequence. --flash-attn is off by default (llama.cpp's CPU
flash attention keeps K and V in fp16).
Context: n_ctx = n_batch = n_ubatch = the largest batch's token count (n_seq_max is what
Llama sets for embeddings: min(n_batch, llama_max_parallel_sequences())), n_threads = n_threads_batch = --threads. Timing covers llama_decode, reading
the pooled rows and normalizing; the llama_batch structures are filled beforehand.
Prints one JSON line with torch_bert_bench.py's keys and "batch_latency_ms": {"p50": ...}.
"""

import ctypes
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402

# Runs convert_hf_to_gguf.py (argv[1], its arguments after it) with torch's newer dtype names
# stubbed when the installed torch lacks them; the script only compares against them.
CONVERT_SHIM = """
import os, runpy, sys
import torch
for name in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
    if not hasattr(torch, name):
        setattr(torch, name, type("missing_" + name, (), {})())
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
"""

QUANT_TYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
               "f32": "LLAMA_FTYPE_ALL_F32"}


def parse_args():
    parser = peer_common.new_parser(__doc__)
    parser.add_argument("model")
    peer_common.add_common_args(parser)
    parser.add_argument("--quant", choices=sorted(QUANT_TYPES), default="q8_0")
    parser.add_argument("--convert-script", help="llama.cpp's convert_hf_to_gguf.py")
    parser.add_argument("--save", metavar="OUT_GGUF", help="convert and quantize to here, exit")
    parser.add_argument("--flash-attn", action="store_true", help="llama.cpp's flash attention")
    args = parser.parse_args()
    peer_common.check_positive(parser, args)
    return args


def find_convert_script(given):
    if given:
        return given
    venv = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
    found = sorted(glob.glob(os.path.join(
        venv, "src", "llama_cpp_python-*", "vendor", "llama.cpp", "convert_hf_to_gguf.py")))
    if not found:
        raise SystemExit("no convert_hf_to_gguf.py found under the venv's src/; run "
                         "scripts/install-peers.sh or pass --convert-script")
    return found[-1]


def convert_f32(model_dir, out, script):
    peer_common.check_mean_pooling(model_dir)
    run = subprocess.run([sys.executable, "-c", CONVERT_SHIM, script, model_dir, "--outfile", out,
                          "--outtype", "f32"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"{script} failed on {model_dir}")


def quantize(f32, out, quant):
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_TYPES[quant])
    params.nthread = 1
    if llama_cpp.llama_model_quantize(f32.encode(), out.encode(), ctypes.byref(params)) != 0:
        raise SystemExit(f"llama_model_quantize of {f32} to {quant} failed")


def prepare(model, quant, save, script, work):
    """The .gguf to run: MODEL itself when it is a .gguf and nothing is saved, otherwise a
    conversion (of a directory) and/or quantization written to save or into work."""
    if model.endswith(".gguf") and not save:
        return model
    out = save or os.path.join(work, f"{quant}.gguf")
    if model.endswith(".gguf"):
        f32 = model
    else:
        f32 = out if quant == "f32" else os.path.join(work, "f32.gguf")
        convert_f32(model, f32, find_convert_script(script))
    if quant != "f32":
        quantize(f32, out, quant)
    elif f32 != out:
        raise SystemExit("--quant f32 with a .gguf MODEL: nothing to convert")
    return out


def load(path, threads, n_tokens, flash_attn):
    import llama_cpp

    return llama_cpp.Llama(model_path=path, embedding=True, flash_attn=flash_attn,
                           pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                           n_ctx=n_tokens, n_batch=n_tokens, n_ubatch=n_tokens,
                           n_threads=threads, n_threads_batch=threads, verbose=False)


def make_llama_batches(batches, batch_size):
    from llama_cpp import _internals

    made = []
    for batch in batches:
        b = _internals.LlamaBatch(n_tokens=sum(len(s["input_ids"]) for s in batch), embd=0,
                                  n_seq_max=batch_size, verbose=False)
        for seq, s in enumerate(batch):
            b.add_sequence(s["input_ids"], seq, True)  # embeddings want every token as output
        made.append((b, len(batch)))
    return made


def main():
    args = parse_args()
    import llama_cpp

    sequences = peer_common.read_ids(args.ids_jsonl)
    if any(any(s.get("token_type_ids") or []) for s in sequences):
        raise SystemExit(f"{args.ids_jsonl}: non-zero token types, which llama.cpp's BERT ignores")
    with tempfile.TemporaryDirectory() as work:
        path = prepare(args.model, args.quant, args.save, args.convert_script, work)
        if args.save:
            print(f"[llamacpp_bench] wrote {path}", file=sys.stderr)
            return 0
        batches = peer_common.split_batches(sequences, args.batch_size)
        n_tokens = max(sum(len(s["input_ids"]) for s in b) for b in batches)
        llm = load(path, args.threads, n_tokens, args.flash_attn)
    ctx = llm._ctx
    if ctx.ctx is None or llm.n_embd() <= 0:
        raise SystemExit(f"{path}: context creation failed")
    n_embd = llm.n_embd()
    llama_batches = make_llama_batches(batches, args.batch_size)

    def embed(item):
        batch, count = item
        ctx.kv_cache_clear()
        ctx.decode(batch)
        rows = np.empty((count, n_embd), dtype=np.float32)
        for seq in range(count):
            ptr = llama_cpp.llama_get_embeddings_seq(ctx.ctx, seq)
            if not ptr:
                raise SystemExit(f"no pooled embedding for sequence {seq}")
            rows[seq] = np.ctypeslib.as_array(ptr, shape=(n_embd,))
        return peer_common.normalize(rows)

    seconds, batch_ms, embeddings = peer_common.time_runs(embed, llama_batches, args.warmup,
                                                          args.runs)
    print(peer_common.result_line(
        args.engine_name or f"llama.cpp-{args.quant}", args, sequences,
        sum(len(s["input_ids"]) for s in sequences), seconds, batch_ms,
        runtime=f"llama-cpp-python {llama_cpp.__version__}",
        attention="all tokens of a batch in one ubatch, other sequences masked"))
    if args.dump_embeddings:
        peer_common.dump_embeddings(args.dump_embeddings, embeddings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
