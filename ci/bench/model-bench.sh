#!/usr/bin/env bash
# model-bench.sh: our pure-Go GPT-2 against plain PyTorch on the CPU.
#
# Runs the Go benchmarks of package model
#   go test -run '^$' -bench 'BenchmarkTrainStep|BenchmarkDecode' -count 5 -cpu THREADS ./model
# (BenchmarkTrainStep/124M and /tiny: ns/op of one full fwd+bwd+AdamW step,
# B=4 T=64; BenchmarkDecode/124M: the tokens/s metric it reports), then, when
# /usr/bin/python3 can import torch, ci/bench/torch_gpt2_bench.py with the
# same thread count, and prints a table: ours (median over the -count runs),
# PyTorch (its median), and the ratio: PyTorch seconds / ours for the train
# steps, our tokens/s / PyTorch tokens/s for decode. Above 1 means we are faster.
#
# Environment:
#   THREADS=2          cores for both sides (go test -cpu, torch.set_num_threads)
#   COUNT=5            go test -count
#   BENCHTIME=         go test -benchtime (default: go's own)
#   GO=go  PYTHON=/usr/bin/python3
#   OUT=bench/model    where go.txt, torch.json and report.txt go
#   GO_BENCH_OUTPUT=f  parse this saved go test output instead of running go
#   TORCH_JSON=f       use this saved torch_gpt2_bench.py output instead of running it
#   SKIP_TORCH=1       leave PyTorch out
#   STRICT=1           exit 1 when a benchmark is missing on either side
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

THREADS=${THREADS:-2}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-}
GO=${GO:-go}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-bench/model}
mkdir -p "$OUT"

missing=()
note() { printf '%s\n' "$*" >&2; }

# --- ours -------------------------------------------------------------------
go_txt=$OUT/go.txt
go_ok=1
if [[ -n ${GO_BENCH_OUTPUT:-} ]]; then
	cp "$GO_BENCH_OUTPUT" "$go_txt"
else
	args=(test -run '^$' -bench 'BenchmarkTrainStep|BenchmarkDecode' -count "$COUNT" -cpu "$THREADS" -timeout 120m)
	if [[ -n $BENCHTIME ]]; then
		args+=(-benchtime "$BENCHTIME")
	fi
	note "+ $GO ${args[*]} ./model"
	if ! "$GO" "${args[@]}" ./model 2>&1 | tee "$go_txt" >&2; then
		go_ok=0
	fi
fi
if [[ $go_ok == 0 ]] || ! grep -q '^Benchmark' "$go_txt"; then
	note "model-bench: go test produced no benchmark results; its last lines:"
	tail -n 5 "$go_txt" | sed 's/^/    /' >&2
fi

# "name value" lines for every ns/op and tokens/s figure, the -N cpu suffix
# dropped from the name, then the median per name.
go_medians=$(awk '
	/^Benchmark/ {
		name = $1
		sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i += 2) {
			if ($(i + 1) == "ns/op") print name "|ns/op", $i
			if ($(i + 1) == "tokens/s") print name "|tokens/s", $i
		}
	}' "$go_txt" | sort -k1,1 -k2,2g | awk '
	function flush() {
		if (n == 0) return
		m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print key, m, n
	}
	$1 != key { flush(); key = $1; n = 0 }
	{ v[++n] = $2 }
	END { flush() }')

# go_get NAME UNIT -> median, or nothing
go_get() {
	awk -v k="$1|$2" '$1 == k { print $2 }' <<<"$go_medians"
}

# --- PyTorch ----------------------------------------------------------------
torch_json=$OUT/torch.json
torch_kv=""
if [[ -n ${TORCH_JSON:-} ]]; then
	cp "$TORCH_JSON" "$torch_json"
elif [[ -n ${SKIP_TORCH:-} ]]; then
	note "model-bench: SKIP_TORCH set, PyTorch left out"
	: >"$torch_json"
elif "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
	note "+ $PYTHON ci/bench/torch_gpt2_bench.py --threads $THREADS"
	if ! "$PYTHON" ci/bench/torch_gpt2_bench.py --threads "$THREADS" >"$torch_json"; then
		note "model-bench: torch_gpt2_bench.py failed"
		: >"$torch_json"
	fi
else
	note "model-bench: $PYTHON cannot import torch, PyTorch left out"
	: >"$torch_json"
fi
if [[ -s $torch_json ]]; then
	torch_kv=$("$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        for k, v in json.loads(line).items():
            print(k, v)
' "$torch_json")
fi

torch_get() {
	awk -v k="$1" '$1 == k { print $2 }' <<<"$torch_kv"
}

# --- table ------------------------------------------------------------------
report=$OUT/report.txt
{
	tv=$(torch_get torch_version)
	if [[ -n $tv ]]; then
		tv="torch $tv, median of its runs"
	else
		tv=none
	fi
	printf 'GPT-2 on the CPU, %s threads; ours: Go, median over the go test -count runs; PyTorch: %s\n' \
		"$THREADS" "$tv"
	printf '%-22s %18s %18s %10s\n' benchmark ours PyTorch ratio
	row() { # label ours_value pytorch_value unit kind(time|rate)
		local label=$1 ours=$2 theirs=$3 unit=$4 kind=$5 ratio=-
		if [[ -n $ours && -n $theirs ]]; then
			ratio=$(awk -v a="$ours" -v b="$theirs" -v k="$kind" 'BEGIN {
				if (k == "time") r = (a > 0) ? b / a : 0; else r = (b > 0) ? a / b : 0
				printf "%.2fx", r }')
		fi
		printf '%-22s %18s %18s %10s\n' "$label" \
			"$(fmtv "$ours" "$unit")" "$(fmtv "$theirs" "$unit")" "$ratio"
	}
	fmtv() {
		if [[ -z $1 ]]; then
			printf 'missing'
		else
			awk -v v="$1" -v u="$2" 'BEGIN { printf "%.4g %s", v, u }'
		fi
	}
	for cfg in 124M tiny; do
		ns=$(go_get "BenchmarkTrainStep/$cfg" ns/op)
		ours=""
		if [[ -n $ns ]]; then
			ours=$(awk -v n="$ns" 'BEGIN { printf "%.9g", n / 1e9 }')
		fi
		row "train step $cfg" "$ours" "$(torch_get "train_step_${cfg}_s")" s time
	done
	row "decode 124M" "$(go_get BenchmarkDecode/124M tokens/s)" \
		"$(torch_get decode_124M_tokens_per_s)" tok/s rate
	printf 'ratio: PyTorch s / ours s for train steps, ours tok/s / PyTorch tok/s for decode (>1: ours faster)\n'
	if [[ -n $torch_kv ]]; then
		printf 'PyTorch also: fwd+bwd only 124M %s s, tiny %s s; prefill 124M (32 tokens) %s s\n' \
			"$(torch_get train_step_124M_fwd_bwd_s)" "$(torch_get train_step_tiny_fwd_bwd_s)" \
			"$(torch_get prefill_124M_s)"
	fi
} | tee "$report"

# --- what is missing --------------------------------------------------------
for b in BenchmarkTrainStep/124M BenchmarkTrainStep/tiny; do
	[[ -n $(go_get "$b" ns/op) ]] || missing+=("ours: $b (ns/op)")
done
[[ -n $(go_get BenchmarkDecode/124M tokens/s) ]] || missing+=("ours: BenchmarkDecode/124M (tokens/s metric)")
if [[ -z $torch_kv ]]; then
	missing+=("PyTorch: no results")
fi
if ((${#missing[@]} > 0)); then
	printf 'missing:\n' | tee -a "$report"
	printf '  %s\n' "${missing[@]}" | tee -a "$report"
	if [[ -n ${STRICT:-} ]]; then
		exit 1
	fi
fi
