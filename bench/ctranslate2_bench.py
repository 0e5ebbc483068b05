"""CTranslate2 peer for quantpipe's embedding benchmark: ctranslate2.Encoder on a BERT model
converted from the sentence-transformers directory, compute type int8 by default, then mean
pooling + L2 normalize, timed like bench/torch_bert_bench.py.

Usage (in the peers venv, see scripts/install-peers.sh):
  ../venvs/peers/bin/python bench/ctranslate2_bench.py MODEL_DIR IDS.jsonl [--threads N]
      [--batch-size N] [--runs N] [--warmup N] [--compute-type int8|float32|int8_float32|...]
      [--save CT2_DIR] [--engine-name NAME] [--dump-embeddings FILE]

MODEL_DIR: a sentence-transformers BERT directory (converted to a temporary CTranslate2
model with TransformersConverter, which needs transformers + torch), or a CTranslate2 model
directory (one with model.bin), such as one --save wrote. --save CT2_DIR converts, writes
there and exits without timing. The conversion keeps fp32 weights; --compute-type picks the
kind at load (int8: int8 weights, per output row scales, and int8 GEMMs with dynamically
quantized activations).

IDS.jsonl: one {"input_ids": [...], "token_type_ids": [...]} per line, as `quantpipe
tokenize` writes. Batches of --batch-size in file order; Encoder.forward_batch gets the id
lists and their token types (CTranslate2 pads and masks by length itself), its
last_hidden_state is mean-pooled over each sequence's real tokens and normalized. Timing
covers forward_batch and the pooling. Prints one JSON line with torch_bert_bench.py's keys and
"batch_latency_ms": {"p50": ...}. Threads: intra_threads = --threads, inter_threads 1.
"""

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402


def parse_args():
    parser = peer_common.new_parser(__doc__)
    parser.add_argument("model_dir")
    peer_common.add_common_args(parser)
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--save", metavar="CT2_DIR", help="convert to this directory and exit")
    args = parser.parse_args()
    peer_common.check_positive(parser, args)
    return args


def convert(model_dir, out_dir):
    peer_common.check_mean_pooling(model_dir)
    import ctranslate2.converters
    import transformers

    class Converter(ctranslate2.converters.TransformersConverter):
        def load_model(self, model_class, path, **kwargs):
            # ctranslate2 4.6+ passes dtype=, which transformers before 4.56 calls torch_dtype
            # (the peers venv pins an older transformers that runs on Debian's torch 1.13).
            major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
            if "dtype" in kwargs and (major, minor) < (4, 56):
                kwargs["torch_dtype"] = kwargs.pop("dtype")
            return super().load_model(model_class, path, **kwargs)

    Converter(model_dir).convert(out_dir, force=True)


def main():
    args = parse_args()
    import ctranslate2

    if args.save:
        convert(args.model_dir, args.save)
        print(f"[ctranslate2_bench] wrote {args.save}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as work:
        path = args.model_dir
        if not os.path.exists(os.path.join(path, "model.bin")):
            path = os.path.join(work, "ct2")
            convert(args.model_dir, path)
        encoder = ctranslate2.Encoder(path, device="cpu", compute_type=args.compute_type,
                                      intra_threads=args.threads, inter_threads=1)
    sequences = peer_common.read_ids(args.ids_jsonl)
    batches = []
    for batch in peer_common.split_batches(sequences, args.batch_size):
        ids = [list(s["input_ids"]) for s in batch]
        types = [list(s.get("token_type_ids") or [0] * len(s["input_ids"])) for s in batch]
        batches.append((ids, types, np.array([len(x) for x in ids])))

    def embed(batch):
        ids, types, lengths = batch
        out = encoder.forward_batch(ids, token_type_ids=types)
        return peer_common.mean_pool_normalize(np.asarray(out.last_hidden_state), lengths)

    seconds, batch_ms, embeddings = peer_common.time_runs(embed, batches, args.warmup, args.runs)
    padded = sum(len(b[0]) * int(b[2].max()) for b in batches)
    print(peer_common.result_line(args.engine_name or f"ctranslate2-{args.compute_type}", args,
                                  sequences, padded, seconds, batch_ms,
                                  runtime=f"ctranslate2 {ctranslate2.__version__}"))
    if args.dump_embeddings:
        peer_common.dump_embeddings(args.dump_embeddings, embeddings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
