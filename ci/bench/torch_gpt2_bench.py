#!/usr/bin/env python3
"""PyTorch's side of the GPT-2 performance comparison (see model-bench.sh).

Runs the plain-PyTorch GPT-2 of model/testdata/reference/gpt2_reference.py
(the numerics reference, HF GPT2LMHeadModel semantics) on the CPU in float32
with torch.set_num_threads(--threads) and prints one JSON object on stdout;
progress goes to stderr.

  train step, configs 124M (12 layers, 12 heads, 768 wide, 1024 positions)
  and tiny (2 layers, 4 heads, 128 wide, 256 positions), vocab 50257:
  B=4, T=64, random token ids and targets (fixed seed), all-ones mask, loss =
  masked-mean cross-entropy. Median seconds over --iters iterations after
  --warmup warm-ups of
    *_fwd_bwd_s: forward + loss + backward (grads cleared, untimed, before)
    *_s:         forward + loss + backward + AdamW(lr 1e-4, betas (0.9, 0.95),
                 eps 1e-8, wd 0.1 on dim>=2 params, 0 on biases/LayerNorm)
                 + zero_grad(set_to_none=True)
  decode, 124M, batch 1: a 32-token random prompt through one forward that
  fills the KV cache (prefill_124M_s), then 64 single-token forwards with the
  cache, each followed by a greedy argmax (decode_124M_tokens_per_s = 64 / their
  time). Median over --decode-runs runs after one warm-up run.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model", "testdata", "reference"))

import torch  # noqa: E402

import gpt2_reference as ref  # noqa: E402

CONFIGS = {
    "124M": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12),
    "tiny": dict(vocab_size=50257, n_positions=256, n_embd=128, n_layer=2, n_head=4),
}
B, T = 4, 64
PROMPT, NEW_TOKENS = 32, 64
SEED = 0


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def build(name):
    torch.manual_seed(SEED)
    model = ref.GPT2LMHeadModel(ref.GPT2Config(**CONFIGS[name]))
    ref.init_gpt2_weights(model)
    return model


def timed(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_train(name, iters, warmup):
    model = build(name).train()
    g = torch.Generator().manual_seed(SEED + 1)
    v = model.config.vocab_size
    ids = torch.randint(0, v, (B, T), generator=g)
    targets = torch.randint(0, v, (B, T), generator=g)
    mask = torch.ones(B, T)
    params = list(model.parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=1e-4, betas=(0.9, 0.95), eps=1e-8)

    def fwd_bwd():
        logits, _ = model(ids)
        ref.masked_ce_loss(logits, targets, mask).backward()

    fb = []
    for i in range(warmup + iters):
        opt.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        fwd_bwd()
        if i >= warmup:
            fb.append(time.perf_counter() - t0)

    def step():
        fwd_bwd()
        opt.step()
        opt.zero_grad(set_to_none=True)

    st = timed(step, iters, warmup)
    log("train %s: fwd+bwd %s s, full step %s s" % (name, fmt(fb), fmt(st)))
    return statistics.median(fb), statistics.median(st)


def bench_decode(name, runs):
    model = build(name).eval()
    g = torch.Generator().manual_seed(SEED + 2)
    prompt = torch.randint(0, model.config.vocab_size, (1, PROMPT), generator=g)
    prefill, rates = [], []
    with torch.no_grad():
        for r in range(runs + 1):
            t0 = time.perf_counter()
            logits, past = model(prompt, use_cache=True)
            t1 = time.perf_counter()
            tok = logits[:, -1].argmax(-1, keepdim=True)
            for _ in range(NEW_TOKENS):
                logits, past = model(tok, past_key_values=past, use_cache=True)
                tok = logits[:, -1].argmax(-1, keepdim=True)
            t2 = time.perf_counter()
            if r > 0:  # run 0 is the warm-up
                prefill.append(t1 - t0)
                rates.append(NEW_TOKENS / (t2 - t1))
    log("decode %s: prefill %s s, %s tokens/s" % (name, fmt(prefill), fmt(rates)))
    return statistics.median(prefill), statistics.median(rates)


def fmt(xs):
    return "[" + ", ".join("%.4g" % x for x in xs) + "]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5, help="timed train iterations (>=5 for reports)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--decode-runs", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
           "batch": B, "seq_len": T, "prompt_tokens": PROMPT, "new_tokens": NEW_TOKENS,
           "iters": args.iters, "decode_runs": args.decode_runs}
    for name in ("124M", "tiny"):
        fb, st = bench_train(name, args.iters, args.warmup)
        out["train_step_%s_fwd_bwd_s" % name] = round(fb, 6)
        out["train_step_%s_s" % name] = round(st, 6)
    prefill, rate = bench_decode("124M", args.decode_runs)
    out["decode_124M_tokens_per_s"] = round(rate, 3)
    out["prefill_124M_s"] = round(prefill, 6)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
