"""torch.optim.AdamW + clip_grad_norm_ + get_linear_schedule_with_warmup's schedule, for the
fine-tuning optimizer (src/train/adamw.h).

Usage: /usr/bin/python3 tests/golden/train/make_adamw_golden.py   # rewrites tests/golden/train/adamw.json

Two parameters (one with weight decay, one without, as biases and norms are), six steps of
fixed random gradients, warm-up 2 steps, decay to 0 at step 6, clipping at norm 1.0 (the
gradients are large enough that most steps clip). The schedule is LambdaLR with Hugging Face's
linear warm-up / decay formula, written out here because transformers is not installed for
Debian's Python.
"""

import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    gen = torch.Generator().manual_seed(7)
    decayed = torch.nn.Parameter(torch.randn(12, generator=gen))
    plain = torch.nn.Parameter(torch.randn(5, generator=gen))
    lr, warmup, total = 1e-2, 2, 6
    optimizer = torch.optim.AdamW([{"params": [decayed], "weight_decay": 0.01},
                                   {"params": [plain], "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def linear(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear)
    out = {"lr": lr, "warmup_steps": warmup, "total_steps": total, "weight_decay": 0.01, "max_grad_norm": 1.0,
           "initial": {"decayed": decayed.tolist(), "plain": plain.tolist()}, "steps": []}
    for _ in range(total):
        g1 = torch.randn(12, generator=gen) * 0.6
        g2 = torch.randn(5, generator=gen) * 0.6
        decayed.grad, plain.grad = g1.clone(), g2.clone()
        norm = torch.nn.utils.clip_grad_norm_([decayed, plain], 1.0)
        rate = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        out["steps"].append({"grad_decayed": g1.tolist(), "grad_plain": g2.tolist(), "norm": float(norm),
                             "lr": rate, "decayed": decayed.tolist(), "plain": plain.tolist()})
    path = os.path.join(HERE, "adamw.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(path)


if __name__ == "__main__":
    main()
