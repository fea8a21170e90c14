#!/usr/bin/env python3
"""Independent plain-PyTorch numerics reference for the Go GPT-2 engine.

This file is deliberately self-contained: it needs only torch (1.13 or newer)
and the Python standard library. There is no `transformers` or `safetensors`
dependency; the safetensors format is read and written by hand below.

The model computes exactly what Hugging Face `GPT2LMHeadModel` computes in
eval mode (no dropout): learned position embeddings, pre-LayerNorm blocks,
causal multi-head attention scaled by 1/sqrt(head_dim), a `gelu_new` MLP with
4*n_embd inner units, a final LayerNorm and an LM head tied to wte. Linear
layers are HF `Conv1D`: weight stored [in, out], y = x @ W + b. Parameter names
are the ones HF saves (`transformer.h.0.attn.c_attn.weight`, ...).

Commands (exit codes: 0 ok, 1 failed, 2 usage, 3 skipped because torch or
transformers is not importable):

  gpt2_reference.py [write [OUTDIR]]
      Write the committed fixtures (tiny/, case.safetensors, lora_adapter/,
      lora.safetensors, README.md) into OUTDIR, by default this script's
      directory. Deterministic: two runs give byte-identical files.

  gpt2_reference.py check MODEL_DIR INPUTS_FILE
      MODEL_DIR is an HF-layout GPT-2 checkpoint (config.json and
      model.safetensors or a sharded model.safetensors.index.json); keys may
      carry the `transformer.` prefix or not; F32/F16/BF16 (F64 too);
      attn.bias / attn.masked_bias are ignored; lm_head.weight may be absent.
      INPUTS_FILE is a safetensors file with `input_ids` (I64 or I32, [B,T])
      and `logits` (F32, [B,T,V]) computed by the code under test. The
      reference forward runs in float64 on the same weights; exit 0 when
      max|logits - ref| / max|ref| <= 1e-4 (one line on stdout), else exit 1
      with a one-line reason.

  gpt2_reference.py transformers-check MODEL_DIR INPUTS_FILE
      The same comparison against transformers.GPT2LMHeadModel.from_pretrained
      (MODEL_DIR); exit 3 with "skipped: transformers not installed" when it
      cannot be imported.

The benchmark ci/bench/torch_gpt2_bench.py imports GPT2Config, GPT2LMHeadModel,
init_gpt2_weights and masked_ce_loss from this file.
"""

import json
import math
import os
import struct
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - exercised when torch is missing
    torch = None
    nn = None
    F = None

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_SKIP = 0, 1, 2, 3
CHECK_TOL = 1e-4

# ---------------------------------------------------------------------------
# safetensors, by hand
# ---------------------------------------------------------------------------

_ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
                "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _st_torch_dtypes():
    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
            "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
            "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
            "BOOL": torch.bool}


def _st_dtype_name(dtype):
    for name, dt in _st_torch_dtypes().items():
        if dt == dtype:
            return name
    raise ValueError("unsupported dtype %s" % dtype)


def save_safetensors(path, tensors, metadata=None):
    """Write `tensors` (name -> tensor) as a safetensors file.

    Tensors are laid out by element size (8-byte dtypes first), then by name;
    the JSON header lists __metadata__ first and then the tensors in the same
    order, and is padded with spaces so the data starts at a multiple of 8.
    Output is a pure function of the input.
    """
    if sys.byteorder != "little":
        raise RuntimeError("safetensors writer assumes a little-endian host")
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    blobs = []
    offset = 0
    # Like the official safetensors writer: larger dtypes first, then by name,
    # so every tensor's data is aligned to its element size (the data section
    # starts at a multiple of 8).
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    for name in order:
        t = tensors[name].detach().cpu().contiguous()
        data = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        if t.dtype == torch.bool:
            data = t.to(torch.uint8).view(-1).numpy().tobytes()
        header[name] = {"dtype": _st_dtype_name(t.dtype), "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    hjson += b" " * ((-len(hjson)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """Read a safetensors file; returns (dict name -> tensor, metadata dict)."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors reader assumes a little-endian host")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("%s: header length %d runs past the end of the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    dtypes = _st_torch_dtypes()
    out = {}
    meta = header.pop("__metadata__", None) or {}
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in dtypes:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        shape = [int(s) for s in info["shape"]]
        begin, end = (int(x) for x in info["data_offsets"])
        numel = 1
        for s in shape:
            numel *= s
        if end - begin != numel * _ST_ITEMSIZE[dt] or base + end > len(raw):
            raise ValueError("%s: tensor %s: bad data_offsets %r for %s %r"
                             % (path, name, info["data_offsets"], dt, shape))
        buf = bytearray(raw[base + begin:base + end])
        if numel == 0:
            t = torch.empty(shape, dtype=dtypes[dt])
        elif dt == "BOOL":
            t = torch.frombuffer(buf, dtype=torch.uint8).to(torch.bool).reshape(shape)
        else:
            t = torch.frombuffer(buf, dtype=dtypes[dt]).reshape(shape)
        out[name] = t
    return out, meta


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------

class GPT2Config:
    def __init__(self, vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12,
                 n_head=12, layer_norm_epsilon=1e-5, activation_function="gelu_new",
                 tie_word_embeddings=True):
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        self.layer_norm_epsilon = layer_norm_epsilon
        self.activation_function = activation_function
        self.tie_word_embeddings = tie_word_embeddings

    @classmethod
    def from_hf_dict(cls, d):
        act = d.get("activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh", "gelu"):
            raise ValueError("unsupported activation_function %r" % act)
        for key, ok in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                        ("reorder_and_upcast_attn", False), ("add_cross_attention", False)):
            if key in d and bool(d[key]) != ok:
                raise ValueError("unsupported config %s=%r" % (key, d[key]))
        n_inner = d.get("n_inner")
        if n_inner is not None and int(n_inner) != 4 * int(d["n_embd"]):
            raise ValueError("unsupported n_inner=%r (only 4*n_embd)" % n_inner)
        return cls(vocab_size=int(d["vocab_size"]), n_positions=int(d.get("n_positions", d.get("n_ctx", 1024))),
                   n_embd=int(d["n_embd"]), n_layer=int(d["n_layer"]), n_head=int(d["n_head"]),
                   layer_norm_epsilon=float(d.get("layer_norm_epsilon", 1e-5)),
                   activation_function=act,
                   tie_word_embeddings=bool(d.get("tie_word_embeddings", True)))

    def to_hf_dict(self):
        return {
            "_name_or_path": "tiny",
            "activation_function": self.activation_function,
            "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": 0.0,
            "bos_token_id": 0,
            "embd_pdrop": 0.0,
            "eos_token_id": 0,
            "initializer_range": 0.02,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "model_type": "gpt2",
            "n_ctx": self.n_positions,
            "n_embd": self.n_embd,
            "n_head": self.n_head,
            "n_inner": None,
            "n_layer": self.n_layer,
            "n_positions": self.n_positions,
            "reorder_and_upcast_attn": False,
            "resid_pdrop": 0.0,
            "scale_attn_by_inverse_layer_idx": False,
            "scale_attn_weights": True,
            "summary_activation": None,
            "summary_first_dropout": 0.0,
            "summary_proj_to_labels": True,
            "summary_type": "cls_index",
            "summary_use_proj": True,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
            "use_cache": True,
            "vocab_size": self.vocab_size,
        }


def gelu_new(x):
    """HF NewGELUActivation, written exactly as transformers writes it."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def _activation(name):
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return gelu_new
    return F.gelu  # "gelu": the exact erf form


if nn is not None:

    class Conv1D(nn.Module):
        """HF Conv1D: weight [in, out]; y = x @ W + b.

        Optional PEFT LoRA (fan_in_fan_out=True): lora_A [r, in], lora_B [out, r],
        y += scale * (x @ A^T) @ B^T. The adapters are plain tensors set by
        attach_lora, so they never show up in the base model's parameters.
        """

        def __init__(self, nx, nf):
            super().__init__()
            self.nx, self.nf = nx, nf
            self.weight = nn.Parameter(torch.empty(nx, nf))
            self.bias = nn.Parameter(torch.zeros(nf))
            self.lora_A = None
            self.lora_B = None
            self.lora_scale = 0.0

        def forward(self, x):
            size_out = x.shape[:-1] + (self.nf,)
            x2 = x.reshape(-1, self.nx)
            y = torch.addmm(self.bias, x2, self.weight)
            if self.lora_A is not None:
                y = y + self.lora_scale * ((x2 @ self.lora_A.t()) @ self.lora_B.t())
            return y.view(size_out)

    class GPT2Attention(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.n_head = cfg.n_head
            self.n_embd = cfg.n_embd
            self.head_dim = cfg.n_embd // cfg.n_head
            if self.head_dim * self.n_head != self.n_embd:
                raise ValueError("n_embd %d not divisible by n_head %d" % (cfg.n_embd, cfg.n_head))
            self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
            self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)

        def _split(self, t):
            b, s, _ = t.shape
            return t.view(b, s, self.n_head, self.head_dim).permute(0, 2, 1, 3)  # [B,H,S,D]

        def forward(self, x, layer_past=None, use_cache=False):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            q, k, v = self._split(q), self._split(k), self._split(v)
            if layer_past is not None:
                k = torch.cat((layer_past[0], k), dim=-2)
                v = torch.cat((layer_past[1], v), dim=-2)
            present = (k, v) if use_cache else None
            w = torch.matmul(q, k.transpose(-1, -2))
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype, device=w.device)
            s = k.size(-2)
            if t > 1:  # one new query sees the whole past: no masking needed
                causal = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()[s - t:s, :s]
                w = w.masked_fill(~causal, torch.finfo(w.dtype).min)
            w = F.softmax(w, dim=-1)
            a = torch.matmul(w, v)  # [B,H,T,D]
            a = a.permute(0, 2, 1, 3).contiguous().view(b, t, c)
            return self.c_proj(a), present

    class GPT2MLP(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd)
            self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd)
            self.act = _activation(cfg.activation_function)

        def forward(self, x):
            return self.c_proj(self.act(self.c_fc(x)))

    class GPT2Block(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
            self.attn = GPT2Attention(cfg)
            self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
            self.mlp = GPT2MLP(cfg)

        def forward(self, x, layer_past=None, use_cache=False):
            a, present = self.attn(self.ln_1(x), layer_past=layer_past, use_cache=use_cache)
            x = x + a
            x = x + self.mlp(self.ln_2(x))
            return x, present

    class GPT2Model(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
            self.h = nn.ModuleList([GPT2Block(cfg) for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)

    class GPT2LMHeadModel(nn.Module):
        """Parameters named as HF saves them: transformer.wte.weight, ...

        The LM head is tied to transformer.wte.weight unless the config says
        otherwise (then lm_head_weight is a separate parameter).
        """

        def __init__(self, cfg):
            super().__init__()
            self.config = cfg
            self.transformer = GPT2Model(cfg)
            if not cfg.tie_word_embeddings:
                self.lm_head_weight = nn.Parameter(torch.empty(cfg.vocab_size, cfg.n_embd))

        def lm_head(self):
            if self.config.tie_word_embeddings:
                return self.transformer.wte.weight
            return self.lm_head_weight

        def forward(self, input_ids, past_key_values=None, use_cache=False):
            """input_ids [B,T] -> (logits [B,T,V], presents or None).

            past_key_values: per layer (k, v), each [B, n_head, S_past, head_dim].
            """
            _, t = input_ids.shape
            past_len = 0 if past_key_values is None else past_key_values[0][0].size(-2)
            if past_len + t > self.config.n_positions:
                raise ValueError("sequence length %d exceeds n_positions %d"
                                 % (past_len + t, self.config.n_positions))
            pos = torch.arange(past_len, past_len + t, dtype=torch.long, device=input_ids.device)
            x = self.transformer.wte(input_ids) + self.transformer.wpe(pos).unsqueeze(0)
            presents = [] if use_cache else None
            for i, block in enumerate(self.transformer.h):
                layer_past = None if past_key_values is None else past_key_values[i]
                x, present = block(x, layer_past=layer_past, use_cache=use_cache)
                if use_cache:
                    presents.append(present)
            x = self.transformer.ln_f(x)
            logits = torch.matmul(x, self.lm_head().t())
            return logits, presents

    def conv1d_modules(model):
        """Yields (prefix, Conv1D) for the four LoRA targets of every layer."""
        for i, block in enumerate(model.transformer.h):
            p = "transformer.h.%d." % i
            yield p + "attn.c_attn", block.attn.c_attn
            yield p + "attn.c_proj", block.attn.c_proj
            yield p + "mlp.c_fc", block.mlp.c_fc
            yield p + "mlp.c_proj", block.mlp.c_proj


def init_gpt2_weights(model, initializer_range=0.02):
    """HF GPT2PreTrainedModel._init_weights, then the c_proj re-init.

    Draws from the global torch RNG in named_parameters order.
    """
    n_layer = model.config.n_layer
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            is_ln = ".ln_" in name or name.startswith("transformer.ln_f")
            if is_ln:
                p.fill_(1.0 if leaf == "weight" else 0.0)
            elif leaf == "bias":
                p.zero_()
            else:  # Conv1D weights, wte, wpe (and an untied lm_head)
                p.normal_(0.0, initializer_range)
        for name, p in model.named_parameters():
            if name.endswith("c_proj.weight"):
                p.normal_(0.0, initializer_range / math.sqrt(2 * n_layer))


def masked_ce_loss(logits, targets, mask):
    """sum(mask * CE) / sum(mask), CE = -log_softmax(logits)[target]."""
    logp = F.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (nll * mask).sum() / mask.sum()


# ---------------------------------------------------------------------------
# write: the fixtures
# ---------------------------------------------------------------------------

TINY = dict(vocab_size=97, n_positions=16, n_embd=24, n_layer=2, n_head=3, layer_norm_epsilon=1e-5)
SEED = 1234
B, T = 2, 7
PERTURB_STD = 0.02

# AdamW / clipping, mirrored into __metadata__ and README.md.
ADAMW_STEPS = 3
ADAMW_LR = 1e-2
ADAMW_BETAS = (0.9, 0.95)
ADAMW_EPS = 1e-8
ADAMW_WD = 0.1
CLIP_MAX_NORM = 1.0  # the pre-clip norms are ~2.6, 1.8, 1.75 (step 0 asserted below): clipping triggers

LORA_R = 4
LORA_ALPHA = 8
LORA_SCALE = LORA_ALPHA / LORA_R
LORA_B_STD = 0.02


def _lora_key(prefix, ab):
    return "base_model.model.%s.lora_%s.weight" % (prefix, ab)


def build_fixture_state():
    """All random draws, in a fixed order from torch.manual_seed(SEED).

    1. init_gpt2_weights (HF _init_weights + c_proj re-init)
    2. perturbation: every bias and LayerNorm weight/bias += N(0, 0.02)
       (named_parameters order)
    3. input_ids = randint(0, V, [B,T]); targets = randint(0, V, [B,T])
    4. LoRA, for every target in layer order (c_attn, attn.c_proj, c_fc,
       mlp.c_proj): A = N(0, 1)/sqrt(in) [r,in], then B = N(0, 0.02) [out,r]
    """
    torch.manual_seed(SEED)
    cfg = GPT2Config(**TINY)
    model = GPT2LMHeadModel(cfg)
    init_gpt2_weights(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name:
                p.add_(torch.randn(p.shape) * PERTURB_STD)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    input_ids = torch.randint(0, cfg.vocab_size, (B, T), dtype=torch.int64)
    targets = torch.randint(0, cfg.vocab_size, (B, T), dtype=torch.int64)
    mask = torch.ones(B, T, dtype=torch.float32)
    mask[0, :2] = 0.0
    mask[1, -1] = 0.0
    lora = {}
    for prefix, mod in conv1d_modules(model):
        a = torch.randn(LORA_R, mod.nx) / math.sqrt(mod.nx)
        b = torch.randn(mod.nf, LORA_R) * LORA_B_STD
        lora[_lora_key(prefix, "A")] = a
        lora[_lora_key(prefix, "B")] = b
    return cfg, weights, input_ids, targets, mask, lora


def _model_from(cfg, weights, dtype):
    model = GPT2LMHeadModel(cfg).to(dtype)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(weights[n].to(dtype))
    return model


def _global_norm(grads):
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads))


def run_case(cfg, weights, input_ids, targets, mask, dtype):
    """Forward, loss, gradients, and the 3 clipped AdamW steps."""
    model = _model_from(cfg, weights, dtype)
    m = mask.to(dtype)
    logits, _ = model(input_ids)
    loss = masked_ce_loss(logits, targets, m)
    loss.backward()
    res = {"logits": logits.detach().clone(), "loss": loss.detach().clone()}
    res["grads"] = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    res["grad_norm"] = _global_norm(list(res["grads"].values()))

    model = _model_from(cfg, weights, dtype)
    params = list(model.named_parameters())
    decay = [p for n, p in params if p.dim() >= 2]
    no_decay = [p for n, p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW_WD}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW_LR, betas=ADAMW_BETAS, eps=ADAMW_EPS, foreach=False)
    res["clip_norms"], res["step_losses"] = [], []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad(set_to_none=True)
        logits, _ = model(input_ids)
        loss = masked_ce_loss(logits, targets, m)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in params], CLIP_MAX_NORM)
        opt.step()
        res["clip_norms"].append(norm.detach().clone())
        res["step_losses"].append(loss.detach().clone())
    res["adamw"] = {n: p.detach().clone() for n, p in params}
    return res


def run_lora(cfg, weights, lora, input_ids, targets, mask, dtype):
    model = _model_from(cfg, weights, dtype)
    for p in model.parameters():
        p.requires_grad_(False)
    ad = {k: v.to(dtype).clone().requires_grad_(True) for k, v in lora.items()}
    for prefix, mod in conv1d_modules(model):
        mod.lora_A = ad[_lora_key(prefix, "A")]
        mod.lora_B = ad[_lora_key(prefix, "B")]
        mod.lora_scale = LORA_SCALE
    logits, _ = model(input_ids)
    loss = masked_ce_loss(logits, targets, mask.to(dtype))
    loss.backward()
    res = {"logits": logits.detach().clone(), "loss": loss.detach().clone(),
           "grads": {k: v.grad.detach().clone() for k, v in ad.items()}, "merged": {}}
    for prefix, mod in conv1d_modules(model):
        a, b = lora[_lora_key(prefix, "A")].to(dtype), lora[_lora_key(prefix, "B")].to(dtype)
        res["merged"][prefix + ".weight"] = mod.weight.detach() + LORA_SCALE * (b @ a).t()
    # The merged weights must reproduce the adapter logits.
    merged = {k: v.to(dtype) for k, v in weights.items()}
    merged.update(res["merged"])
    with torch.no_grad():
        ml, _ = _model_from(cfg, merged, dtype)(input_ids)
    res["merged_logits_maxdiff"] = (ml - res["logits"]).abs().max().item()
    return res


def _rel(a, b):
    """max|a-b| / max|b| (b the float64 truth)."""
    a, b = a.double(), b.double()
    den = b.abs().max().item()
    return (a - b).abs().max().item() / (den if den > 0 else 1.0)


def _fmt(x):
    return "%.9g" % float(x)


def _hparams_metadata():
    return {
        "adamw.lr": _fmt(ADAMW_LR),
        "adamw.beta1": _fmt(ADAMW_BETAS[0]),
        "adamw.beta2": _fmt(ADAMW_BETAS[1]),
        "adamw.eps": _fmt(ADAMW_EPS),
        "adamw.weight_decay": _fmt(ADAMW_WD),
        "adamw.weight_decay_applies_to": "params with dim>=2 (Conv1D weights, wte, wpe); 0 for biases and LayerNorm",
        "adamw.steps": str(ADAMW_STEPS),
        "adamw.update": "torch.optim.AdamW (torch %s, foreach=False): g = clipped grad; p *= 1 - lr*wd; "
                        "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                        "p -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)" % torch.__version__,
        "clip.max_norm": _fmt(CLIP_MAX_NORM),
        "clip.rule": "torch.nn.utils.clip_grad_norm_: n = sqrt(sum over params of sum(g^2)); "
                     "g *= min(1, max_norm/(n+1e-6))",
    }


def write_fixtures(outdir):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    cfg, weights, input_ids, targets, mask, lora = build_fixture_state()
    f32 = run_case(cfg, weights, input_ids, targets, mask, torch.float32)
    f64 = run_case(cfg, weights, input_ids, targets, mask, torch.float64)
    lo32 = run_lora(cfg, weights, lora, input_ids, targets, mask, torch.float32)
    lo64 = run_lora(cfg, weights, lora, input_ids, targets, mask, torch.float64)

    norms = [n.item() for n in f32["clip_norms"]]
    if not norms[0] > CLIP_MAX_NORM:
        raise AssertionError("clipping does not trigger on step 0: norm %g <= %g" % (norms[0], CLIP_MAX_NORM))
    if lo32["merged_logits_maxdiff"] > 1e-5 or lo64["merged_logits_maxdiff"] > 1e-12:
        raise AssertionError("merged LoRA weights do not reproduce the adapter logits")
    for k, g in lo32["grads"].items():
        if not g.abs().max().item() > 0:
            raise AssertionError("zero LoRA gradient for " + k)

    os.makedirs(os.path.join(outdir, "tiny"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "lora_adapter"), exist_ok=True)
    hf_cfg = cfg.to_hf_dict()
    _write_json(os.path.join(outdir, "tiny", "config.json"), hf_cfg)
    save_safetensors(os.path.join(outdir, "tiny", "model.safetensors"), weights, {"format": "pt"})

    common_meta = {
        "generator": "model/testdata/reference/gpt2_reference.py",
        "torch_version": torch.__version__,
        "seed": str(SEED),
        "dtype": "float32 (computed in float32 on CPU, 1 thread, deterministic algorithms)",
        "config": json.dumps({k: hf_cfg[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer",
                                                      "n_head", "layer_norm_epsilon")}, sort_keys=True),
        "batch": "B=%d T=%d" % (B, T),
        "loss": "sum(mask * CE(logits, targets)) / sum(mask); CE = -log_softmax(logits, -1)[target]; "
                "targets[b,t] is the label for position t (no shift)",
        "scalar_shape": "[] (0-dim, 1 element)",
    }

    case = {"input_ids": input_ids, "targets": targets, "mask": mask,
            "logits": f32["logits"], "loss": f32["loss"],
            "grad_norm": f32["grad_norm"].float()}
    for n, g in f32["grads"].items():
        case["grad." + n] = g
    for n, p in f32["adamw"].items():
        case["adamw." + n] = p
    for i in range(ADAMW_STEPS):
        case["clip.norm_step%d" % i] = f32["clip_norms"][i].float()
        case["adamw.loss_step%d" % i] = f32["step_losses"][i]
    case["clip.max_norm"] = torch.tensor(CLIP_MAX_NORM, dtype=torch.float32)
    meta = dict(common_meta)
    meta.update(_hparams_metadata())
    save_safetensors(os.path.join(outdir, "case.safetensors"), case, meta)

    adapter_cfg = {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": "tiny",
        "bias": "none",
        "fan_in_fan_out": True,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": LORA_ALPHA,
        "lora_dropout": 0.0,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": LORA_R,
        "rank_pattern": {},
        "revision": None,
        "target_modules": ["c_attn", "c_proj", "c_fc"],
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }
    _write_json(os.path.join(outdir, "lora_adapter", "adapter_config.json"), adapter_cfg)
    save_safetensors(os.path.join(outdir, "lora_adapter", "adapter_model.safetensors"), lora, {"format": "pt"})
    lcase = {"input_ids": input_ids, "targets": targets, "mask": mask,
             "logits": lo32["logits"], "loss": lo32["loss"]}
    for k, g in lo32["grads"].items():
        lcase["grad." + k] = g
    for k, w in lo32["merged"].items():
        lcase["merged." + k] = w
    lmeta = dict(common_meta)
    lmeta.update({"lora.r": str(LORA_R), "lora.alpha": str(LORA_ALPHA), "lora.scale": _fmt(LORA_SCALE),
                  "lora.rule": "fan_in_fan_out Conv1D: y = x@W + b + scale*(x @ A^T) @ B^T; "
                               "merged W' = W + scale*(B@A)^T; base frozen"})
    save_safetensors(os.path.join(outdir, "lora.safetensors"), lcase, lmeta)

    # float32-vs-float64 deviations: how far the float32 fixtures are from exact.
    dev = {
        "logits": _rel(f32["logits"], f64["logits"]),
        "loss": _rel(f32["loss"], f64["loss"]),
        "grad.* (worst tensor)": max(_rel(f32["grads"][n], f64["grads"][n]) for n in f32["grads"]),
        "adamw.* (worst tensor)": max(_rel(f32["adamw"][n], f64["adamw"][n]) for n in f32["adamw"]),
        "adamw.* max abs": max((f32["adamw"][n].double() - f64["adamw"][n]).abs().max().item()
                               for n in f32["adamw"]),
        "lora logits": _rel(lo32["logits"], lo64["logits"]),
        "lora grad.* (worst tensor)": max(_rel(lo32["grads"][k], lo64["grads"][k]) for k in lo32["grads"]),
    }
    _write_readme(os.path.join(outdir, "README.md"), cfg, weights, lora, f32, lo32, dev, input_ids, mask)
    print("wrote fixtures to %s: loss %.6f, grad_norm %.6f, clip norms %s, lora loss %.6f"
          % (outdir, f32["loss"].item(), f32["grad_norm"].item(),
             ", ".join("%.6f" % n for n in norms), lo32["loss"].item()))


def _write_readme(path, cfg, weights, lora, f32, lo32, dev, input_ids, mask):
    C, V, P, L = cfg.n_embd, cfg.vocab_size, cfg.n_positions, cfg.n_layer
    shapes = "\n".join("| `%s` | %s |" % (n, list(w.shape)) for n, w in weights.items())
    lshapes = "\n".join("| `%s` | %s |" % (k, list(v.shape)) for k, v in sorted(lora.items()))
    devs = "\n".join("| %s | %.3g |" % (k, v) for k, v in dev.items())
    norms = ", ".join("%.6f" % n.item() for n in f32["clip_norms"])
    losses = ", ".join("%.6f" % x.item() for x in f32["step_losses"])
    text = """# GPT-2 numerics reference fixtures

Generated by `gpt2_reference.py` in this directory: do not edit by hand.
Regenerate with `/usr/bin/python3 gpt2_reference.py write` (torch >= 1.13 and
nothing else; the safetensors files are written by hand). Two runs give
byte-identical files. The same script checks a checkpoint and logits written
by our Go code: `gpt2_reference.py check MODEL_DIR INPUTS_FILE` (exit 0 ok,
1 mismatch, 3 torch missing) and `gpt2_reference.py transformers-check ...`
(the same against `transformers.GPT2LMHeadModel`; exit 3 when transformers
is not installed).

The model is HF `GPT2LMHeadModel` in eval mode written in plain PyTorch:
learned position embeddings, pre-LayerNorm blocks, causal attention scaled by
1/sqrt(head_dim) (masked scores set to finfo.min before softmax), `gelu_new`
MLP of 4*n_embd, final LayerNorm, LM head tied to `transformer.wte.weight`
(logits = h @ wte^T). Conv1D layers store weight [in, out]: y = x @ W + b.
`c_attn` output is q|k|v along the out dim, heads contiguous inside each.

The safetensors files are standard: 8-byte little-endian header length, JSON
header (`__metadata__` of strings, then per tensor dtype/shape/data_offsets)
padded with spaces to a multiple of 8, then little-endian data laid out
8-byte dtypes first and then by name, so every tensor is aligned to its
element size.

## Model `tiny/`

`config.json` (HF GPT-2 config) and `model.safetensors` (F32, initial weights,
no `lm_head.weight` since it is tied). vocab_size=%d, n_positions=%d,
n_embd=%d, n_layer=%d, n_head=%d (head_dim %d), layer_norm_epsilon=1e-5.

Initialisation (torch.manual_seed(%d), float32): HF `_init_weights` (Conv1D
weights, wte, wpe ~ N(0, 0.02); biases 0; LayerNorm weight 1, bias 0), then
every `c_proj.weight` ~ N(0, 0.02/sqrt(2*n_layer)); then every bias and every
LayerNorm weight and bias gets N(0, %g) noise added, so no parameter sits at a
trivial value.

| tensor | shape |
|---|---|
%s

## `case.safetensors` (full fine-tuning case)

All float tensors are F32 on CPU. Scalars have shape `[]` (0-dim, one
element). B=%d, T=%d, V=%d.

| tensor | dtype | shape | meaning |
|---|---|---|---|
| `input_ids` | I64 | [B,T] | random tokens in [0,V) |
| `targets` | I64 | [B,T] | random tokens in [0,V); the label of position t is `targets[b,t]` (already shifted: no further shift) |
| `mask` | F32 | [B,T] | 1 = position counts in the loss; zeros at row 0 positions 0,1 and row 1 position T-1. Attention is NOT masked by it (causal only) |
| `logits` | F32 | [B,T,V] | forward of the initial weights |
| `loss` | F32 | [] | sum(mask * CE) / sum(mask), CE[b,t] = -log_softmax(logits[b,t])[targets[b,t]] |
| `grad.<param>` | F32 | param shape | d loss / d param for each of the %d parameters of the table above (`grad.transformer.wte.weight` includes the tied LM head's share) |
| `grad_norm` | F32 | [] | sqrt(sum over all `grad.*` of sum(g^2)) (accumulated in float64) |
| `clip.max_norm` | F32 | [] | %g |
| `clip.norm_step{0,1,2}` | F32 | [] | global grad norm before clipping at AdamW step 0,1,2 (value returned by clip_grad_norm_) |
| `adamw.loss_step{0,1,2}` | F32 | [] | loss computed in step k, before its update (step 0 = `loss`) |
| `adamw.<param>` | F32 | param shape | weights after %d AdamW steps |

Loss values per step: %s. Pre-clip norms per step: %s.

The %d AdamW steps, all on the same batch, starting from the `tiny/` weights:

    for step in 0,1,2:
        zero grads; loss = masked-mean CE (as above); backward
        n = sqrt(sum over all params of sum(g^2))
        g *= min(1, max_norm / (n + 1e-6))           # clip_grad_norm_, max_norm = %g
        torch.optim.AdamW update, t = step + 1:
            p *= 1 - lr * wd                          # decoupled weight decay
            m = b1*m + (1-b1)*g ; v = b2*v + (1-b2)*g*g
            p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

lr = %g, b1 = %g, b2 = %g, eps = %g; wd = %g for parameters with dim >= 2 (the
Conv1D weights, wte, wpe), wd = 0 for biases and LayerNorm weights/biases.
Clipping triggers at step 0 (norm %.4f > %g). wpe rows >= T get zero
gradients, so they change by weight decay only. The same numbers sit in the
file's `__metadata__`.

## LoRA: `lora_adapter/` and `lora.safetensors`

PEFT-style LoRA on `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj` of
every layer; r=%d, lora_alpha=%d, scale = alpha/r = %g, dropout 0,
fan_in_fan_out (Conv1D): `lora_A.weight` [r, in], `lora_B.weight` [out, r],

    y = x @ W + b + scale * (x @ A^T) @ B^T

Initialised after the batch is drawn, per target in layer order: A ~ N(0,1)/sqrt(in),
then B ~ N(0, %g) (B is NOT zero, so every gradient and the logits are
non-trivial). `lora_adapter/adapter_config.json` is a PEFT config with
`base_model_name_or_path` "tiny"; `lora_adapter/adapter_model.safetensors`
holds the initial adapters (F32):

| tensor | shape |
|---|---|
%s

`lora.safetensors` (F32; scalars shape `[]`), base = `tiny/` weights, frozen:

| tensor | shape | meaning |
|---|---|---|
| `input_ids`, `targets`, `mask` | as in case.safetensors | the same batch |
| `logits` | [B,T,V] | forward with the adapters |
| `loss` | [] | masked-mean CE with the adapters |
| `grad.<adapter key>` | adapter shape | d loss / d lora_A, d lora_B for every adapter (base frozen) |
| `merged.<param>` | [in,out] | W + scale * (B @ A)^T for the %d targeted Conv1D weights, e.g. `merged.transformer.h.0.attn.c_attn.weight` |

LoRA loss: %.6f (base loss %.6f).

## How exact are these numbers?

The fixtures are computed in float32. The script also runs everything in
float64 from the same initial weights; the float32 fixtures deviate from the
float64 results by (max abs error / max abs value of the tensor):

| quantity | deviation |
|---|---|
%s
""" % (V, P, C, L, cfg.n_head, C // cfg.n_head, SEED, PERTURB_STD, shapes,
       B, T, V, len(weights), CLIP_MAX_NORM, ADAMW_STEPS, losses, norms, ADAMW_STEPS, CLIP_MAX_NORM,
       ADAMW_LR, ADAMW_BETAS[0], ADAMW_BETAS[1], ADAMW_EPS, ADAMW_WD,
       f32["clip_norms"][0].item(), CLIP_MAX_NORM,
       LORA_R, LORA_ALPHA, LORA_SCALE, LORA_B_STD, lshapes, 4 * L,
       lo32["loss"].item(), f32["loss"].item(), devs)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------------------
# check: compare logits from our Go code with this reference
# ---------------------------------------------------------------------------

class CheckError(Exception):
    pass


def _load_checkpoint_tensors(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        return load_safetensors(single)[0]
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            wmap = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wmap.values())):
            out.update(load_safetensors(os.path.join(model_dir, shard))[0])
        return out
    raise CheckError("no model.safetensors or model.safetensors.index.json in %s" % model_dir)


def load_hf_checkpoint(model_dir, dtype=None):
    """Builds the reference model from an HF-layout GPT-2 directory."""
    if dtype is None:
        dtype = torch.float64
    cfg_path = os.path.join(model_dir, "config.json")
    try:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = GPT2Config.from_hf_dict(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        raise CheckError("%s: %s" % (cfg_path, e))
    try:
        raw = _load_checkpoint_tensors(model_dir)
    except (OSError, ValueError, KeyError) as e:
        raise CheckError("reading weights: %s" % e)
    sd = {}
    for k, v in raw.items():
        if k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
            continue
        if k == "lm_head.weight":
            if not cfg.tie_word_embeddings:
                sd["lm_head_weight"] = v
            continue
        sd[k if k.startswith("transformer.") else "transformer." + k] = v
    model = GPT2LMHeadModel(cfg).to(dtype)
    want = dict(model.named_parameters())
    missing = sorted(set(want) - set(sd))
    extra = sorted(set(sd) - set(want))
    if missing:
        raise CheckError("checkpoint lacks %d tensors, e.g. %s" % (len(missing), ", ".join(missing[:3])))
    if extra:
        raise CheckError("checkpoint has %d unexpected tensors, e.g. %s" % (len(extra), ", ".join(extra[:3])))
    with torch.no_grad():
        for n, p in want.items():
            if tuple(sd[n].shape) != tuple(p.shape):
                raise CheckError("%s has shape %s, want %s" % (n, list(sd[n].shape), list(p.shape)))
            if not sd[n].is_floating_point():
                raise CheckError("%s has non-float dtype %s" % (n, sd[n].dtype))
            p.copy_(sd[n].to(dtype))
    model.eval()
    return model


def _load_inputs(path):
    try:
        t, _ = load_safetensors(path)
    except (OSError, ValueError, KeyError) as e:
        raise CheckError("reading %s: %s" % (path, e))
    for k in ("input_ids", "logits"):
        if k not in t:
            raise CheckError("%s has no %s tensor" % (path, k))
    ids, logits = t["input_ids"], t["logits"]
    if ids.dtype not in (torch.int64, torch.int32) or ids.dim() != 2:
        raise CheckError("input_ids must be I64/I32 [B,T], got %s %s" % (ids.dtype, list(ids.shape)))
    if not logits.is_floating_point() or logits.dim() != 3 or tuple(logits.shape[:2]) != tuple(ids.shape):
        raise CheckError("logits must be float [B,T,V] matching input_ids %s, got %s %s"
                         % (list(ids.shape), logits.dtype, list(logits.shape)))
    return ids.long(), logits.double()


def _compare(ours, ref, what):
    if tuple(ours.shape) != tuple(ref.shape):
        raise CheckError("logits shape %s, %s gives %s" % (list(ours.shape), what, list(ref.shape)))
    if not torch.isfinite(ours).all():
        raise CheckError("logits contain NaN or Inf")
    ref = ref.double()
    max_ref = ref.abs().max().item()
    diff = (ours - ref).abs()
    err = diff.max().item()
    rel = err / (max_ref if max_ref > 0 else 1.0)
    where = list(torch.nonzero(diff == err)[0].tolist())
    line = ("max|logits-ref| = %.3g at %s, max|ref| = %.4g, relative error %.3g (tolerance %g, reference %s)"
            % (err, where, max_ref, rel, CHECK_TOL, what))
    if rel <= CHECK_TOL:
        print("ok: " + line)
        return EXIT_OK
    print("FAIL: " + line)
    return EXIT_FAIL


def cmd_check(model_dir, inputs_file):
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    ids, ours = _load_inputs(inputs_file)
    model = load_hf_checkpoint(model_dir)
    if ids.min().item() < 0 or ids.max().item() >= model.config.vocab_size:
        raise CheckError("input_ids outside [0, %d)" % model.config.vocab_size)
    if ids.shape[1] > model.config.n_positions:
        raise CheckError("T=%d exceeds n_positions %d" % (ids.shape[1], model.config.n_positions))
    with torch.no_grad():
        ref, _ = model(ids)
    return _compare(ours, ref, "plain-PyTorch float64")


def cmd_transformers_check(model_dir, inputs_file):
    try:
        import transformers  # noqa: F401
        from transformers import GPT2LMHeadModel as HFGPT2
    except Exception:  # ImportError and broken installs alike
        print("skipped: transformers not installed")
        return EXIT_SKIP
    ids, ours = _load_inputs(inputs_file)
    try:
        kwargs = {"torch_dtype": torch.float32}
        try:
            model = HFGPT2.from_pretrained(model_dir, attn_implementation="eager", **kwargs)
        except TypeError:
            model = HFGPT2.from_pretrained(model_dir, **kwargs)
    except Exception as e:
        raise CheckError("transformers could not load %s: %s" % (model_dir, str(e).splitlines()[0] if str(e) else e))
    model = model.double().eval()
    with torch.no_grad():
        ref = model(input_ids=ids).logits
    return _compare(ours, ref, "transformers %s float64" % transformers.__version__)


def main(argv):
    if torch is None:
        print("skipped: torch not installed")
        return EXIT_SKIP
    here = os.path.dirname(os.path.abspath(__file__))
    cmd = argv[0] if argv else "write"
    try:
        if cmd == "write" and len(argv) <= 2:
            write_fixtures(argv[1] if len(argv) == 2 else here)
            return EXIT_OK
        if cmd in ("check", "transformers-check") and len(argv) == 3:
            fn = cmd_check if cmd == "check" else cmd_transformers_check
            return fn(argv[1], argv[2])
    except CheckError as e:
        print("FAIL: " + str(e).replace("\n", " "))
        return EXIT_FAIL
    sys.stderr.write("usage: gpt2_reference.py [write [OUTDIR]] | check MODEL_DIR INPUTS_FILE"
                     " | transformers-check MODEL_DIR INPUTS_FILE\n")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
