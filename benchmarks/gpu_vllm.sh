#!/usr/bin/env bash
# clinic-env against a real vLLM server on one GPU, next to vLLM's own benchmark.
#
#   bash benchmarks/gpu_vllm.sh [MODEL] [CONCURRENCY] [CONSULTATIONS]
#
# MODEL is a small instruct model (default Qwen/Qwen2.5-0.5B-Instruct, about 1 GB of
# weights) or a local folder. The script checks the GPU and vLLM, says how much it would
# download before doing so (and refuses more than MAX_DOWNLOAD_GB, default 3), serves the
# model with `vllm serve` on loopback, runs benchmarks/llm_throughput.py against it
# (doctor and patient both played by the model, CONCURRENCY consultations at once), then
# `vllm bench serve` at the same concurrency with prompts and replies of the lengths
# clinic-env's calls had, prints both with vLLM's prefix-cache hit rate, and stops the server.
# Every phase has a time limit; the whole run fits in ten minutes once the weights are on
# disk. vLLM's random prompts share no prefix while clinic-env's do, so the comparison
# flatters clinic-env; benchmarks/gpu_day.sh (transformers, nothing to download) replays
# clinic-env's own requests instead. docs/gpu.md says what the figures mean.
#
# Needs: an NVIDIA GPU, `pip install vllm` and clinic-env installed in the same Python.
# Environment: PYTHON (default python3), PORT (default 8011), MAX_DOWNLOAD_GB (3),
# MAX_TURNS (8), MAX_TOKENS (96), VLLM_SERVE_ARGS (more options for vllm serve).
set -euo pipefail

MODEL="${1:-Qwen/Qwen2.5-0.5B-Instruct}"
CONCURRENCY="${2:-32}"
CONSULTATIONS="${3:-200}"
PYTHON="${PYTHON:-python3}"
PORT="${PORT:-8011}"
MAX_DOWNLOAD_GB="${MAX_DOWNLOAD_GB:-3}"
MAX_TURNS="${MAX_TURNS:-8}"
MAX_TOKENS="${MAX_TOKENS:-96}"
HEALTH_TIMEOUT_S=240
CLINIC_TIMEOUT_S=180
VLLM_BENCH_TIMEOUT_S=120
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d -t clinic-env-gpu-XXXXXX)"
STARTED=$SECONDS
SERVER_PID=""

say() { printf '[gpu_vllm %3ds] %s\n' "$((SECONDS - STARTED))" "$*"; }
fail() { say "ERROR: $*" >&2; exit 1; }

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    say "stopping the vLLM server"
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# 1. The GPU, vLLM and clinic-env.
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this script needs an NVIDIA GPU and its driver"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
  || fail "nvidia-smi found no usable GPU"
"$PYTHON" -c "import vllm" 2>/dev/null \
  || fail "vLLM is not importable by $PYTHON: pip install vllm (it brings its own PyTorch for CUDA)"
"$PYTHON" -c "import clinic_env" 2>/dev/null \
  || fail "clinic-env is not importable by $PYTHON: pip install -e . from the repository"
command -v curl >/dev/null || fail "curl not found (it polls the server's /health)"
VLLM="$(dirname "$(command -v "$PYTHON")")/vllm"  # the console script beside this Python
[[ -x "$VLLM" ]] || VLLM="$(command -v vllm)" || fail "the vllm command is not on PATH"
say "vLLM $("$PYTHON" -c 'import vllm; print(vllm.__version__)'), model $MODEL"

# 2. The weights: say what a download would be, refuse a surprise, fetch before timing.
if [[ ! -d "$MODEL" ]]; then
  "$PYTHON" - "$MODEL" "$MAX_DOWNLOAD_GB" <<'EOF' || fail "the model's weights are not available (see above)"
import fnmatch
import sys

from huggingface_hub import HfApi, snapshot_download

# What vLLM loads: configs, tokenizer, safetensors weights (not .bin/.pt/.gguf duplicates).
PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja"]
model, limit_gb = sys.argv[1], float(sys.argv[2])
try:
    snapshot_download(model, allow_patterns=PATTERNS, local_files_only=True)
    print(f"{model}: already in the Hugging Face cache, nothing to download")
    sys.exit(0)
except Exception:  # noqa: BLE001 - not cached (fully): find out what fetching would mean
    pass
try:
    info = HfApi().model_info(model, files_metadata=True)
except Exception as exc:  # noqa: BLE001
    sys.exit(f"{model}: not cached, and the Hugging Face Hub cannot be asked ({exc})")
wanted = [s for s in info.siblings or [] if any(fnmatch.fnmatch(s.rfilename, p) for p in PATTERNS)]
size_gb = sum(s.size or 0 for s in wanted) / 1e9
print(f"{model}: not cached; downloading {size_gb:.2f} GB from the Hugging Face Hub")
if size_gb > limit_gb:
    sys.exit(f"{size_gb:.2f} GB is over MAX_DOWNLOAD_GB={limit_gb}: raise it to go ahead")
snapshot_download(model, allow_patterns=PATTERNS)
EOF
fi
export HF_HUB_OFFLINE=1  # from here on, nothing more is fetched: serve and bench use the cache

# 3. The server, on loopback, in its own process group.
say "starting vllm serve on 127.0.0.1:$PORT (log: $WORK/vllm.log)"
# shellcheck disable=SC2086 # VLLM_SERVE_ARGS is a list of options
setsid "$VLLM" serve "$MODEL" --host 127.0.0.1 --port "$PORT" \
  --max-model-len 8192 --gpu-memory-utilization 0.85 ${VLLM_SERVE_ARGS:-} \
  >"$WORK/vllm.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + HEALTH_TIMEOUT_S))
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 40 "$WORK/vllm.log" >&2
    fail "vllm serve exited (log above)"
  fi
  if ((SECONDS > deadline)); then
    tail -n 40 "$WORK/vllm.log" >&2
    fail "vllm serve did not answer /health within ${HEALTH_TIMEOUT_S}s"
  fi
  sleep 2
done
say "server healthy"

# 4. clinic-env: whole consultations, doctor and patient played by the model.
say "clinic-env: $CONSULTATIONS consultations, $CONCURRENCY at once"
timeout "$CLINIC_TIMEOUT_S" "$PYTHON" "$HERE/llm_throughput.py" \
  --base-url "http://127.0.0.1:$PORT/v1" --model "$MODEL" \
  --consultations "$CONSULTATIONS" --concurrency "$CONCURRENCY" \
  --max-turns "$MAX_TURNS" --max-tokens "$MAX_TOKENS" --json "$WORK/clinic.json" \
  | tee "$WORK/clinic.txt" || fail "the clinic-env benchmark failed or ran past ${CLINIC_TIMEOUT_S}s"
read -r CALLS IN_LEN OUT_LEN < <("$PYTHON" -c '
import json, sys
f = json.load(open(sys.argv[1]))
print(f["calls"], max(1, round(f["mean_prompt_tokens"])), max(1, round(f["mean_completion_tokens"])))
' "$WORK/clinic.json") || true
[[ "${CALLS:-0}" -gt 0 ]] || fail "the clinic-env benchmark made no model call"
PROMPTS=$((CALLS < 1000 ? CALLS : 1000))

# 5. vLLM's own benchmark: the same concurrency, prompts and replies of the same lengths.
say "vllm bench serve: $PROMPTS requests of $IN_LEN in / $OUT_LEN out tokens, $CONCURRENCY at once"
timeout "$VLLM_BENCH_TIMEOUT_S" "$VLLM" bench serve --backend openai-chat \
  --endpoint /v1/chat/completions --base-url "http://127.0.0.1:$PORT" --model "$MODEL" \
  --dataset-name random --random-input-len "$IN_LEN" --random-output-len "$OUT_LEN" \
  --ignore-eos --num-prompts "$PROMPTS" --max-concurrency "$CONCURRENCY" \
  --save-result --result-dir "$WORK" --result-filename vllm.json \
  >"$WORK/vllm_bench.txt" 2>&1 || { tail -n 30 "$WORK/vllm_bench.txt" >&2; fail "vllm bench serve failed or ran past ${VLLM_BENCH_TIMEOUT_S}s"; }
sed -n '/Serving Benchmark Result/,$p' "$WORK/vllm_bench.txt"
# Prefix-cache counters (tokens) from vLLM's Prometheus endpoint, over the whole run.
curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
  /^vllm:prefix_cache_queries(_total)?[{ ]/ { queries += $NF }
  /^vllm:prefix_cache_hits(_total)?[{ ]/ { hits += $NF }
  END { if (queries > 0) printf "vLLM prefix cache: %.0f of %.0f prompt tokens hit (%.2f)\n",
        hits, queries, hits / queries; else print "vLLM prefix cache: not reported" }' || true
stop_server

# 6. Side by side.
"$PYTHON" - "$WORK/clinic.json" "$WORK/vllm.json" "$CONCURRENCY" <<'EOF'
import json, sys

clinic, vllm = (json.load(open(path)) for path in sys.argv[1:3])
calls_per_consultation = clinic["calls"] / max(clinic["consultations"], 1)
vllm_rps = float(vllm["request_throughput"])
print(f"\nAt {sys.argv[3]} in flight, on this GPU:")
print(f"  clinic-env: {clinic['consultations_per_s']:.2f} consultations/s, "
      f"{clinic['calls_per_s']:.1f} model calls/s ({calls_per_consultation:.1f} calls each, "
      f"{clinic['failed']} of {clinic['consultations']} failed)")
print(f"  vLLM bench: {vllm_rps:.1f} requests/s, {float(vllm['output_throughput']):.0f} output tokens/s")
print(f"  clinic-env calls/s / vLLM requests/s: {clinic['calls_per_s'] / vllm_rps:.2f}; "
      f"vLLM's rate as consultations: {vllm_rps / calls_per_consultation:.2f}/s")
EOF
say "done in $((SECONDS - STARTED))s"
