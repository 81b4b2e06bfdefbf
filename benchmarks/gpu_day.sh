#!/usr/bin/env bash
# clinic-env's first measured GPU run: `transformers serve` on one GPU, a model of a real shape.
#
#   bash benchmarks/gpu_day.sh wheels           # where pip reaches PyPI: the wheels to carry
#   bash benchmarks/gpu_day.sh                  # on the GPU machine: the run, figures to $OUT
#   GPU_DAY_TINY=1 bash benchmarks/gpu_day.sh   # the same steps on CPU, with a tiny model
#
# Made for a GPU machine with PyTorch and transformers but no network, no vLLM and no weights
# (docs/gpu.md). The run: (1) installs the carried wheels (WHEELS, default .whl/: what
# `transformers serve` and clinic-env need beyond that machine's packages, 5.4 MB) into a
# folder of its own; (2) builds a model of Llama 3 8B's shape with random bf16 weights on the
# GPU, and a byte-level BPE tokenizer trained on this repository's own text, on local disk:
# its replies are noise, its speed is real; (3) starts `transformers serve` with continuous
# batching, with the very command line `clinic-env serve --engine transformers` gives each Ray
# actor, and warms it up; (4) runs benchmarks/llm_throughput.py --base-url against it with
# the first IN_FLIGHT count of consultations in flight, doctor and patient both the model,
# recording its requests (clinic-env's reply cache); (5) measures the engine's own throughput:
# a bare client replays those requests with ENGINE_CONCURRENCY in flight, so the engine's
# prefix sharing helps it as it helped clinic-env; (6) runs the other IN_FLIGHT counts;
# (7) writes figures.json and figures.md to OUT: calls/s, tokens/s, each run's share of the
# engine's own throughput, GPU memory and utilisation per phase. One time budget (BUDGET_S)
# bounds the phases; a phase that runs out is recorded so, and the figures so far are kept.
# The whole script takes at most about BUDGET_S + 60 seconds.
#
# Environment: PYTHON (python3), WORK (/tmp/clinic-env-gpu-day: model, logs; a model there is
# reused), OUT ($WORK/out), WHEELS (.whl), PORT (8012), BUDGET_S (510), IN_FLIGHT ("1000 256"),
# MAX_TURNS (3), MAX_TOKENS (32), ENGINE_CONCURRENCY (the first IN_FLIGHT), ENGINE_MAX_S (90),
# ENGINE_ARGS (more options for transformers serve). GPU_DAY_TINY=1 sets CPU-sized defaults.
# `wheels` takes WHEEL_PYTHON (3.12: the GPU machine's Python).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
WHEELS="${WHEELS:-$REPO/.whl}"
# What the GPU machine lacks (its package list is in the device notes); versions that work
# together with transformers 5.17's server. openai is there for its types only.
WHEEL_PINS=(
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  typing-extensions==4.16.0 fastapi==0.135.0 starlette==0.52.1 uvicorn==0.55.0
  openai==2.54.0 jiter==0.19.0 distro==1.9.0 sniffio==1.3.1
  gymnasium==1.4.0 farama-notifications==0.0.6
)

if [[ "${1:-}" == "wheels" ]]; then
  mkdir -p "$WHEELS"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --implementation cp \
    --python-version "${WHEEL_PYTHON:-3.12}" --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$WHEELS" \
    "${WHEEL_PINS[@]}"
  du -ch "$WHEELS"/*.whl | tail -n 1
  echo "carry $(realpath --relative-to="$REPO" "$WHEELS") with the run (it must stay out of git)"
  exit 0
fi

TINY="${GPU_DAY_TINY:-0}"
if [[ "$TINY" == "1" ]]; then  # a KV cache sized for a CPU: left alone it takes most RAM
  SHAPE=tiny DEVICE=cpu
  : "${IN_FLIGHT:=32 8}" "${MAX_TURNS:=2}" "${MAX_TOKENS:=8}"
  : "${ENGINE_ARGS:=--cb-block-size 64 --cb-num-blocks 2048 --cb-max-batch-tokens 4096}"
else
  SHAPE=8b DEVICE=cuda
  : "${IN_FLIGHT:=1000 256}" "${MAX_TURNS:=3}" "${MAX_TOKENS:=32}"
  : "${ENGINE_ARGS:=}"
fi
: "${ENGINE_CONCURRENCY:=${IN_FLIGHT%% *}}" "${ENGINE_MAX_S:=90}" "${BUDGET_S:=510}"
WORK="${WORK:-/tmp/clinic-env-gpu-day}"
OUT="${OUT:-$WORK/out}"
PORT="${PORT:-8012}"
MODEL_DIR="$WORK/model-$SHAPE"
BASE_URL="http://127.0.0.1:$PORT/v1"
STARTED=$SECONDS
SERVER_PID="" SAMPLER_PID=""
mkdir -p "$WORK" "$OUT"
rm -f "$WORK"/phases.tsv "$WORK"/clinic-*.json "$WORK"/engine.json "$WORK"/samples.csv \
  "$WORK"/calls-*.sqlite*
exec > >(tee "$OUT/gpu_day.log") 2>&1

say() { printf '[gpu_day %3ds] %s\n' "$((SECONDS - STARTED))" "$*"; }
fail() { say "ERROR: $*"; exit 1; }
left() { echo $((BUDGET_S - (SECONDS - STARTED))); }

stop_background() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  [[ -z "$SAMPLER_PID" ]] || kill "$SAMPLER_PID" 2>/dev/null || true
}
finish() {  # also after a failure: what the server said, and the samples so far
  stop_background
  [[ ! -f "$WORK/server.log" ]] || tail -n 200 "$WORK/server.log" >"$OUT/server_log_tail.txt"
  [[ ! -f "$WORK/samples.csv" ]] || cp "$WORK/samples.csv" "$OUT/samples.csv"
}
trap finish EXIT
trap 'exit 130' INT TERM

# phase NAME LIMIT_S COMMAND...: runs COMMAND under `timeout`, at most the budget left (less
# RESERVE_S, kept for the phases after it); records start, end and exit status.
phase() {
  local name=$1 limit=$2 started rc=0
  shift 2
  local budget=$(($(left) - ${RESERVE_S:-0}))
  ((limit < budget)) || limit=$budget
  if ((limit < 10)); then
    say "$name: skipped, the time budget is spent"
    printf '%s\t%s\t%s\t%s\n' "$name" "$(date +%s.%N)" "$(date +%s.%N)" skipped >>"$WORK/phases.tsv"
    return 1
  fi
  say "$name (at most ${limit}s)"
  started=$(date +%s.%N)
  timeout "$limit" "$@" || rc=$?
  local status=ok
  ((rc == 0)) || status=$([[ $rc == 124 ]] && echo "timed out" || echo "exit $rc")
  printf '%s\t%s\t%s\t%s\n' "$name" "$started" "$(date +%s.%N)" "$status" >>"$WORK/phases.tsv"
  say "$name: $status"
  return "$rc"
}

# 1. The carried wheels, then what the run needs.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$WORK/site" "$WHEELS"/*.whl || fail "the carried wheels did not install"
  export PYTHONPATH="$WORK/site:$PYTHONPATH"
fi
"$PYTHON" - "$WORK/versions.json" <<'EOF' || fail "a package is missing (above): bring it in WHEELS"
import json, sys
from importlib.metadata import version
import aiohttp, clinic_env.runner.serve, fastapi, openai, torch, uvicorn  # noqa: F401
from transformers.utils.import_utils import is_serve_available
assert is_serve_available(), "transformers serve lacks a dependency"
names = ("torch", "transformers", "tokenizers", "pydantic", "fastapi", "uvicorn", "aiohttp")
found = {name: version(name) for name in names}
found["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
json.dump(found, open(sys.argv[1], "w"))
print(found)
EOF
if [[ "$DEVICE" == cuda ]]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this run needs an NVIDIA GPU"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

# GPU memory and utilisation once a second (on CPU: the server's resident memory).
sample() {
  while :; do
    if [[ "$DEVICE" == cuda ]]; then
      echo "$(date +%s.%N),$(nvidia-smi --query-gpu=memory.used,utilization.gpu \
        --format=csv,noheader,nounits | head -n 1 | tr -d ' ')"
    elif [[ -n "$SERVER_PID" && -r "/proc/$SERVER_PID/status" ]]; then
      echo "$(date +%s.%N),$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$SERVER_PID/status"),"
    fi
    sleep 1
  done >>"$WORK/samples.csv"
}

# 2. The model: a real shape, random weights, on local disk (kept for a second run).
cat >"$WORK/build_model.py" <<'EOF'
"""A Llama-style model with random weights and a BPE tokenizer trained on the repo's text."""
import json, sys, time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

repo, folder, shape, device = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
SHAPES = {  # Llama 3 8B's published configuration; a tiny one for rehearsals on CPU
    "8b": {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
           "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
           "rope_theta": 500000.0, "max_position_embeddings": 8192},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 4096,
             "max_position_embeddings": 8192},
}[shape]
started = time.perf_counter()
special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
texts = [str(p) for d in ("agents", "cases", "evaluators", "docs")
         for p in sorted((repo / d).rglob("*")) if p.suffix in (".yaml", ".md")]
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train(texts, trainers.BpeTrainer(
    vocab_size=min(SHAPES["vocab_size"], 32000), special_tokens=special, show_progress=False,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
saved = json.loads(bpe.to_str())
vocab = saved["model"]["vocab"]
trained, n = len(vocab), 0
while len(vocab) < SHAPES["vocab_size"]:  # the model's other ids decode to pseudo-words
    word, k = "", n
    while k >= 0:
        word, k = chr(97 + k % 26) + word, k // 26 - 1
    vocab.setdefault("Ġ" + word, len(vocab))
    n += 1
tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(saved)),
                                    eos_token="<|im_end|>", pad_token="<|endoftext|>")
tokenizer.chat_template = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
tokenized = time.perf_counter()
config = LlamaConfig(**SHAPES, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
                     pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
torch.manual_seed(0)
torch.set_default_dtype(torch.bfloat16)
with torch.device(device):
    model = LlamaForCausalLM(config)
built = time.perf_counter()
model.save_pretrained(folder, max_shard_size="5GB")
tokenizer.save_pretrained(folder)
head_dim = SHAPES["hidden_size"] // SHAPES["num_attention_heads"]
figures = {"shape": shape, "parameters": sum(p.numel() for p in model.parameters()),
           "dtype": "bfloat16", "vocab": len(tokenizer), "vocab_trained": trained,
           "kv_bytes_per_token": 2 * 2 * SHAPES["num_hidden_layers"]
           * SHAPES["num_key_value_heads"] * head_dim,
           "tokenizer_s": tokenized - started, "init_s": built - tokenized,
           "save_s": time.perf_counter() - built}
(folder / "build.json").write_text(json.dumps(figures))
print(figures)
EOF
if [[ -f "$MODEL_DIR/build.json" ]]; then
  say "model: $MODEL_DIR is there from an earlier run"
else
  phase build 240 "$PYTHON" "$WORK/build_model.py" "$REPO" "$MODEL_DIR" "$SHAPE" "$DEVICE" \
    || fail "the model was not built"
fi

# 3. The server, with the command line `clinic-env serve --engine transformers` gives an actor.
mapfile -t SERVE < <("$PYTHON" - "$MODEL_DIR" "$PORT" "$TINY" "$ENGINE_ARGS" <<'EOF'
import shlex, sys
from clinic_env.runner.serve import ServeSpec
model, port, tiny, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
spec = ServeSpec(model, engine="transformers", cpu=tiny, engine_args=tuple(shlex.split(extra)))
print("\n".join(spec.command(port)))
EOF
)
((${#SERVE[@]} > 0)) || fail "no server command line"
say "server: ${SERVE[*]}"
setsid "${SERVE[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
sample &
SAMPLER_PID=$!
disown "$SERVER_PID" "$SAMPLER_PID"
export PYTHON PORT SERVER_PID WORK
# shellcheck disable=SC2016 # expanded by that shell, from the exported variables
phase start 240 bash -c 'until "$PYTHON" -c "import urllib.request as u
u.urlopen(\"http://127.0.0.1:$PORT/health\", timeout=5)" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$WORK/server.log"; exit 1; }
    sleep 2
  done' || fail "the server did not come up"

# The bare client: a fixed concurrency, no clinic-env. It sends either random prompts (the
# warm-up) or the requests a clinic-env run recorded in its reply cache (CLINIC_ENV_LLM_CACHE),
# each conversation's in its order: the same prompts, lengths and shared prefixes, so the
# engine's prefix sharing helps it as it helped clinic-env.
cat >"$WORK/engine_bench.py" <<'EOF'
"""Chat requests at a fixed concurrency: the engine's own throughput, without clinic-env."""
import argparse, asyncio, json, random, sqlite3, time

import aiohttp

parser = argparse.ArgumentParser()
for flag in ("--base-url", "--model", "--json"):
    parser.add_argument(flag, required=True)
for flag in ("--concurrency", "--max-s", "--requests", "--prompt-tokens", "--max-tokens"):
    parser.add_argument(flag, type=int, default=0)
parser.add_argument("--replay", default=None, help="a reply cache whose requests to send")
args = parser.parse_args()


def recorded() -> list[list[dict]]:
    """The bodies clinic-env sent, as conversations: a request whose messages extend an
    earlier one's by a reply and a new message follows it, as it did in clinic-env, so that
    its prefix is in the cache when it comes. Each first message is marked: the server still
    holds the recorded run's prefixes, which the replay must not hit."""
    with sqlite3.connect(args.replay) as db:
        rows = db.execute("SELECT request FROM replies ORDER BY rowid").fetchall()
    names = ("messages", "temperature", "max_tokens", "seed", "stop", "tools")
    conversations: list[list[dict]] = []
    ends: dict[str, int] = {}  # the messages of a conversation's last request -> its index
    for (row,) in rows:
        request = json.loads(row)
        messages = request["messages"]
        index = ends.pop(json.dumps(messages[:-2]), None)
        if index is None:
            index = len(conversations)
            conversations.append([])
        ends[json.dumps(messages)] = index
        first, *rest = messages
        request["messages"] = [{**first, "content": "replay " + first["content"]}, *rest]
        sent = {k: request[k] for k in names if request.get(k) is not None}
        conversations[index].append({"model": args.model} | sent)
    return conversations


def random_prompts() -> list[list[dict]]:
    """Text that tokenizes to about --prompt-tokens; no two share a prefix; greedy."""
    from transformers import AutoTokenizer

    tokenizer, rng, bodies = AutoTokenizer.from_pretrained(args.model), random.Random(0), []
    for _ in range(args.requests):
        ids = [rng.randrange(3, len(tokenizer)) for _ in range(args.prompt_tokens)]
        scale = args.prompt_tokens / max(len(tokenizer(tokenizer.decode(ids)).input_ids), 1)
        text = tokenizer.decode(ids[: max(1, round(len(ids) * scale))])
        bodies.append([{"model": args.model, "messages": [{"role": "user", "content": text}],
                        "max_tokens": args.max_tokens, "temperature": 0.0}])
    return bodies


async def call(session: aiohttp.ClientSession, body: dict) -> tuple[float, float, int, int]:
    """One request: when it began and ended, its prompt and completion tokens."""
    began = time.perf_counter()
    async with session.post(f"{args.base_url}/chat/completions", json=body) as reply:
        text = await reply.text()
    if reply.status != 200:
        raise ValueError(f"HTTP {reply.status}: {text[:200]}")
    usage = json.loads(text)["usage"]
    return began, time.perf_counter(), usage["prompt_tokens"], usage["completion_tokens"]


async def main(conversations: list[list[dict]]) -> dict:
    done: list[tuple[float, float, int, int]] = []
    failures: list[str] = []
    queue = iter(conversations)

    async def worker(session: aiohttp.ClientSession) -> None:
        for conversation in queue:  # one request in flight per worker, in conversation order
            for body in conversation:
                try:
                    done.append(await call(session, body))
                except (aiohttp.ClientError, ValueError, KeyError) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    limit = aiohttp.ClientTimeout(total=args.max_s)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=limit) as s:
        workers = [asyncio.ensure_future(worker(s)) for _ in range(args.concurrency)]
        _, cut = await asyncio.wait(workers, timeout=args.max_s)
        for task in cut:  # those still in flight are left to the server
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    ends = sorted(d[1] for d in done) or [started]
    seconds = (time.perf_counter() if cut else ends[-1]) - started
    rate = len(done) / seconds
    k = len(ends) // 10  # steady state: the middle 80% of completions, no ramp and no tail
    if len(ends) >= 2 * args.concurrency and ends[-k - 1] > ends[k]:  # two waves at least
        rate = (len(ends) - 2 * k - 1) / (ends[-k - 1] - ends[k])
    n, latencies = max(len(done), 1), sorted(d[1] - d[0] for d in done) or [0.0]
    return {
        "concurrency": args.concurrency, "conversations": len(conversations),
        "sent": sum(map(len, conversations)), "requests": len(done),
        "failures": len(failures), "first_failure": failures[0] if failures else None,
        "cut_at_max_s": bool(cut), "seconds": seconds,
        "requests_per_s_whole_run": len(done) / seconds, "requests_per_s": rate,
        "output_tokens_per_s": rate * sum(d[3] for d in done) / n,
        "prompt_tokens_per_s": rate * sum(d[2] for d in done) / n,
        "mean_prompt_tokens": sum(d[2] for d in done) / n,
        "mean_completion_tokens": sum(d[3] for d in done) / n,
        "latency_p50_s": latencies[len(latencies) // 2],
        "latency_p95_s": latencies[int(len(latencies) * 0.95)],
    }


figures = asyncio.run(main(recorded() if args.replay else random_prompts()))
json.dump(figures, open(args.json, "w"), indent=2)
print(json.dumps(figures))
if not figures["requests"]:
    raise SystemExit(f"no request was answered: {figures['first_failure']}")
EOF
BENCH=("$PYTHON" "$WORK/engine_bench.py" --base-url "$BASE_URL" --model "$MODEL_DIR")
# The first request starts continuous batching (its KV cache, CUDA graphs) and fixes its
# sampling for every later request: greedy, as clinic-env asks.
phase warmup 180 "${BENCH[@]}" --concurrency 32 --requests 64 --prompt-tokens 256 \
  --max-tokens "$MAX_TOKENS" --max-s 170 --json "$WORK/warmup.json" || fail "the warm-up failed"

# 4-6. clinic-env through the runner, doctor and patient both the model, each run recording
# its calls in clinic-env's reply cache (a run cut by the budget is measured from it). The
# first run (the most in flight) and the engine's replay of its calls make the share, so they
# come first, the first keeping time back for the engine; the others run in the time left.
read -r -a RUNS <<<"$IN_FLIGHT"
for i in "${!RUNS[@]}"; do
  n=${RUNS[$i]}
  reserve=0
  ((i > 0)) || reserve=$((ENGINE_MAX_S + 30))
  RESERVE_S=$reserve phase "clinic-$n" 600 env "CLINIC_ENV_LLM_CACHE=$WORK/calls-$n.sqlite" \
    "$PYTHON" "$HERE/llm_throughput.py" --base-url "$BASE_URL" --model "$MODEL_DIR" \
    --consultations "$n" --concurrency "$n" --max-turns "$MAX_TURNS" \
    --max-tokens "$MAX_TOKENS" --json "$WORK/clinic-$n.json" || true
  if ((i == 0)) && [[ -f "$WORK/calls-$n.sqlite" ]]; then
    phase engine $((ENGINE_MAX_S + 30)) "${BENCH[@]}" --replay "$WORK/calls-$n.sqlite" \
      --concurrency "$ENGINE_CONCURRENCY" --max-s "$ENGINE_MAX_S" --json "$WORK/engine.json" \
      || true
  fi
done
stop_background

# 7. The figures.
"$PYTHON" - "$WORK" "$OUT" "$MODEL_DIR" "$IN_FLIGHT" "$DEVICE" <<'EOF'
import csv, json, sqlite3, sys
from pathlib import Path

work, out, model = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
in_flight, on_gpu = sys.argv[4].split(), sys.argv[5] == "cuda"


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(path.open(), delimiter=delimiter)) if path.exists() else []


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # nvidia-smi's [N/A], an empty field
        return None


memory = "GPU memory used, MiB" if on_gpu else "server RSS, MiB (no GPU)"
samples = [(float(r[0]), number(r[1]), number(r[2]))
           for r in rows(work / "samples.csv") if len(r) == 3 and number(r[1]) is not None]
phases = {}
for name, began, ended, status in rows(work / "phases.tsv", "\t"):
    inside = [s for s in samples if float(began) <= s[0] <= float(ended)]
    utils = [s[2] for s in inside if s[2] is not None]
    phases[name] = {"status": status, "seconds": float(ended) - float(began),
                    "peak_memory_mib": max((s[1] for s in inside), default=None),
                    "mean_gpu_util_pct": sum(utils) / len(utils) if utils else None}
built, engine = load(model / "build.json") or {}, load(work / "engine.json")
figures = {"versions": load(work / "versions.json"), "model": built, "memory": memory,
           "phases": phases, "engine": engine, "clinic": {},
           "prefix_cache": "transformers serve reports no prefix-cache hits; its continuous "
                           "batching shares KV blocks of common prefixes (full attention only)"}
warm = (phases.get("warmup") or {}).get("peak_memory_mib")
if on_gpu and warm and built:  # what the KV cache took: all but the weights, at most
    spare = warm * 2**20 - built["parameters"] * 2
    figures["kv_cache_tokens_at_most"] = int(spare // built["kv_bytes_per_token"])
def from_cache(n: str) -> dict | None:
    """A run the budget cut: what its reply cache holds, over the phase's seconds."""
    path, phase = work / f"calls-{n}.sqlite", phases.get(f"clinic-{n}")
    if not path.exists() or phase is None:
        return None
    with sqlite3.connect(path) as db:
        usage = [json.loads(r)["usage"] for (r,) in db.execute("SELECT reply FROM replies")]
    calls = max(len(usage), 1)
    return {"cut": phase["status"], "calls": len(usage), "failed": "?",
            "calls_per_s": len(usage) / phase["seconds"], "consultations_per_s": float("nan"),
            "mean_prompt_tokens": sum(u["prompt_tokens"] for u in usage) / calls,
            "mean_completion_tokens": sum(u["completion_tokens"] for u in usage) / calls}


for n in in_flight:
    run = load(work / f"clinic-{n}.json") or from_cache(n)
    if run is None:
        continue
    run["completion_tokens_per_s"] = run["calls_per_s"] * run["mean_completion_tokens"]
    run["prompt_tokens_per_s"] = run["calls_per_s"] * run["mean_prompt_tokens"]
    if engine and engine["requests"]:
        run["share_of_engine_calls"] = run["calls_per_s"] / engine["requests_per_s"]
        run["share_of_engine_output_tokens"] = (
            run["completion_tokens_per_s"] / engine["output_tokens_per_s"])
    figures["clinic"][n] = run
(out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")

versions = figures["versions"] or {}
lines = [
    f"# gpu_day on {versions.get('gpu') or 'CPU (rehearsal)'}", "",
    f"transformers {versions.get('transformers')}, torch {versions.get('torch')}; model: "
    f"{built.get('shape')} shape, {built.get('parameters', 0) / 1e9:.2f} B parameters, "
    "random bf16 weights", "",
    "| run | calls/s | output tok/s | prompt tok/s | consultations/s | failed "
    "| share of engine: calls, tokens |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
]
if engine:
    lines.append(
        f"| engine alone, {engine['concurrency']} in flight | {engine['requests_per_s']:.1f} | "
        f"{engine['output_tokens_per_s']:.0f} | {engine['prompt_tokens_per_s']:.0f} | | "
        f"{engine['failures']} | 1 |")
for n, run in figures["clinic"].items():
    share = (f"{run['share_of_engine_calls']:.2f}, {run['share_of_engine_output_tokens']:.2f}"
             if "share_of_engine_calls" in run else "no engine figure")
    cut = f" (cut: {run['cut']}, from its reply cache)" if "cut" in run else ""
    lines.append(
        f"| clinic-env, {n} in flight{cut} | {run['calls_per_s']:.1f} | "
        f"{run['completion_tokens_per_s']:.0f} | {run['prompt_tokens_per_s']:.0f} | "
        f"{run['consultations_per_s']:.2f} | {run['failed']} | {share} |")
lines += ["", f"| phase | status | seconds | peak {memory} | mean GPU util % |",
          "| --- | --- | ---: | ---: | ---: |"]
for name, p in phases.items():
    util = "" if p["mean_gpu_util_pct"] is None else f"{p['mean_gpu_util_pct']:.0f}"
    peak = "" if p["peak_memory_mib"] is None else f"{p['peak_memory_mib']:.0f}"
    lines.append(f"| {name} | {p['status']} | {p['seconds']:.0f} | {peak} | {util} |")
if "kv_cache_tokens_at_most" in figures:
    lines += ["", f"KV cache: room for at most {figures['kv_cache_tokens_at_most']:,} tokens"]
(out / "figures.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
say "done; figures in $OUT"
