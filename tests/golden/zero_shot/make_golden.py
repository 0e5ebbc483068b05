"""Zero-shot goldens from transformers' own zero-shot-classification pipeline.

Runs the pipeline on ../shared/models/minilm-l6-nli (an NLI BERT with
entailment / neutral / contradiction labels) for a few texts and candidate
labels, single- and multi-label, and writes minilm-l6-nli.json beside this
script: {"cases": [{"sequence", "candidate_labels", "hypothesis_template",
"multi_label", "labels", "scores"}]} with the pipeline's own label order.

Usage: python make_golden.py [path/to/shared]   (a venv with transformers and torch;
made with transformers 4.48.0 on Debian's torch 1.13)
"""
import json
import os
import sys

from transformers import pipeline

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../../shared"))
model = os.path.join(shared, "models/minilm-l6-nli")
classifier = pipeline("zero-shot-classification", model=model, device=-1)

texts = [
    "The team won the match last night.",
    "Parliament passed the new budget after a long debate.",
    "The telescope found water on a distant planet.",
    "A man is playing a guitar on the street.",
]
settings = [
    (["politics", "sports", "science"], "This example is {}.", False),
    (["politics", "sports", "science"], "This example is {}.", True),
    (["music", "cooking"], "The topic is {}.", False),
    (["outdoors"], "This example is {}.", False),  # one label: scored as multi-label by the pipeline
]
cases = []
for labels, template, multi in settings:
    for text in texts:
        out = classifier(text, candidate_labels=labels, hypothesis_template=template, multi_label=multi)
        cases.append({"sequence": text, "candidate_labels": labels, "hypothesis_template": template,
                      "multi_label": multi, "labels": out["labels"], "scores": out["scores"]})
import transformers

with open(os.path.join(here, "minilm-l6-nli.json"), "w") as f:
    json.dump({"transformers": transformers.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
