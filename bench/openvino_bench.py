"""OpenVINO (CPU plugin) peer for quantpipe's embedding benchmark: fp32, or int8 by NNCF
post-training quantization, on the ONNX export of bench/onnx_export.py (encoder + mean
pooling + L2 normalize in the graph), timed like bench/torch_bert_bench.py.

Usage (in the peers venv, see scripts/install-peers.sh):
  ../venvs/peers/bin/python bench/openvino_bench.py MODEL IDS.jsonl [--threads N]
      [--batch-size N] [--runs N] [--warmup N] [--int8] [--calibration-batches N]
      [--save OUT.xml] [--engine-name NAME] [--pad-id N] [--dump-embeddings FILE]

MODEL: the fp32 .onnx that bench/onnx_export.py writes, or an OpenVINO IR .xml (such as one
--save wrote). IDS.jsonl: one {"input_ids": [...], "token_type_ids": [...]} per line, as
`quantpipe tokenize` writes. Batches in file order, right-padded to their longest sequence.
Prints one JSON line with torch_bert_bench.py's keys and "batch_latency_ms": {"p50": ...}.

--int8: nncf.quantize (model_type TRANSFORMER, default preset) with the first
--calibration-batches batches of IDS.jsonl (default 4) as calibration data: static int8
activations and per-channel int8 weights on the MatMuls, what OpenVINO's own int8 recipe for
BERT gives. --save OUT.xml writes the model (quantized, with --int8) as IR with fp32 weights
kept (no fp16 compression) and exits without timing, so quantizing happens once per run of
bench/compare_peers.sh and not once per thread count.

Compiled with INFERENCE_NUM_THREADS = --threads, NUM_STREAMS 1, PERFORMANCE_HINT LATENCY and
INFERENCE_PRECISION_HINT f32 (on CPUs with bf16/AMX OpenVINO would otherwise run "fp32"
models in bf16).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402


def parse_args():
    parser = peer_common.new_parser(__doc__)
    parser.add_argument("model")
    peer_common.add_common_args(parser)
    parser.add_argument("--int8", action="store_true", help="NNCF post-training int8")
    parser.add_argument("--calibration-batches", type=int, default=4)
    parser.add_argument("--save", metavar="OUT_XML", help="write the model as IR and exit")
    parser.add_argument("--pad-id", type=int, default=0)
    args = parser.parse_args()
    peer_common.check_positive(parser, args)
    return args


def feeds_for(model_inputs, batch, pad_id):
    ids, types, mask = peer_common.pad_batch(batch, pad_id)
    every = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    return {name: every[name] for name in model_inputs}, ids.size


def quantize(model, calibration):
    # NNCF loads its PyTorch backend whenever torch imports, and that backend needs a newer
    # torch than Debian's 1.13 (which the peers venv sees). This script never needs torch.
    sys.modules.setdefault("torch", None)
    import nncf
    return nncf.quantize(model, nncf.Dataset(calibration), model_type=nncf.ModelType.TRANSFORMER,
                         subset_size=len(calibration))


def main():
    args = parse_args()
    import openvino as ov

    core = ov.Core()
    model = core.read_model(args.model)
    input_names = [port.get_any_name() for port in model.inputs]
    unknown = set(input_names) - {"input_ids", "token_type_ids", "attention_mask"}
    if unknown:
        raise SystemExit(f"{args.model}: unexpected inputs {sorted(unknown)}")
    sequences = peer_common.read_ids(args.ids_jsonl)
    batches = peer_common.split_batches(sequences, args.batch_size)
    feeds = [feeds_for(input_names, b, args.pad_id) for b in batches]
    if args.int8:
        calibration = [f for f, _ in feeds[:max(1, args.calibration_batches)]]
        model = quantize(model, calibration)
    if args.save:
        ov.save_model(model, args.save, compress_to_fp16=False)
        print(f"[openvino_bench] wrote {args.save}", file=sys.stderr)
        return 0

    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()

    def embed(batch_feeds):
        request.infer(batch_feeds)
        return np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    seconds, batch_ms, embeddings = peer_common.time_runs(embed, [f for f, _ in feeds],
                                                          args.warmup, args.runs)
    kind = "int8" if args.int8 else ("ir" if args.model.endswith(".xml") else "fp32")
    print(peer_common.result_line(args.engine_name or f"openvino-{kind}", args, sequences,
                                  sum(n for _, n in feeds), seconds, batch_ms,
                                  runtime=f"openvino {ov.get_version()}"))
    if args.dump_embeddings:
        peer_common.dump_embeddings(args.dump_embeddings, embeddings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
