#!/usr/bin/env bash
# bench/run.sh: the load comparisons of bench/README.md.
#
# Builds bin/infergate and the fixedbody baseline, trains the demo model into
# a scratch registry (bench/results/registry), registers the heavy MLP next to
# it, then, for every round and connection count, starts each scenario's
# server on loopback in turn, warms it up with wrk, measures it with wrk
# --latency, and stops it. Prints one row per measurement and a summary of
# ratios; everything is kept under bench/results/<UTC time>/.
#
# Settings (environment):
#   CONNS      connection counts                  default "16 64 256"
#   ROUNDS     repetitions of the whole matrix    default 2
#   DURATION   seconds measured per run           default 10
#   WARMUP     seconds of warm-up per run         default 3
#   THREADS    wrk threads                        default 2
#   SCENARIOS  subset of: fixedbody demo-batch demo-nobatch heavy-batch heavy-nobatch
#              heavy-fixed heavy-adaptive (and any other configs/bench/gateway-*.yaml),
#              node-demo-b1 node-heavy-b64 (the node-ort peer of ../shared/peers,
#              BATCH=1 on the demo model, BATCH=64 on the heavy MLP, WORKERS=2),
#              v2-heavy mlserver-heavy pytriton-heavy (the heavy MLP as a tensor
#              model behind v2 REST: infergate, MLServer with adaptive batching,
#              and Triton through nvidia-pytriton with dynamic batching, both
#              from PyPI at the versions of bench/peers/requirements.txt)
#   INSTANCES  overrides batching.instances of every gateway config, and
#              the Python peers' workers (MLServer) or instances (Triton)
#   HIDDEN, LAYERS  size of the heavy MLP         default 1024, 2
#   KEEP_REGISTRY 1: keep bench/results/registry when it has the models
#   PROFILE    1: perf-record each gateway server during its measured run
#              (needs perf; reports land next to the results)
#
# Every process it starts is stopped on exit, failure or interrupt.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-"16 64 256"}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
SCENARIOS=${SCENARIOS:-"fixedbody demo-batch demo-nobatch heavy-batch heavy-nobatch"}
INSTANCES=${INSTANCES:-}
HIDDEN=${HIDDEN:-1024}
LAYERS=${LAYERS:-2}
PROFILE=${PROFILE:-0}

ADDR=127.0.0.1:18080
ADMIN=127.0.0.1:18081
PEER_METRICS=127.0.0.1:18091 # the Python peers' metrics port (bench/peers/)
REGISTRY=bench/results/registry
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)

if ((WARMUP + DURATION > 20)); then
	echo "run.sh: WARMUP + DURATION must stay within 20 s per run, got $((WARMUP + DURATION))" >&2
	exit 2
fi
command -v wrk >/dev/null || {
	echo "run.sh: wrk not found; install it with: apt-get update && apt-get install -y wrk" >&2
	exit 2
}

# pids of every process this script started and has not yet stopped.
pids=()

stop() { # stop PID: TERM, wait up to 10 s, then KILL; its children too
	local pid=$1 i
	pkill -TERM -P "$pid" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	pkill -KILL -P "$pid" 2>/dev/null || true
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	local kept=() p
	for p in "${pids[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
	pids=("${kept[@]}")
}

cleanup() {
	local p
	for p in "${pids[@]}"; do stop "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT/configs" "$OUT/logs"
echo "== results in $OUT"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "wrk: $(wrk -v 2>&1 | head -1)"
	echo "git: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
	echo "settings: CONNS='$CONNS' ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS INSTANCES='$INSTANCES' HIDDEN=$HIDDEN LAYERS=$LAYERS"
} | tee "$OUT/machine.txt"

echo "== build"
make build
go build -o "$OUT/fixedbody" ./bench/fixedbody
go build -o "$OUT/heavymodel" ./cmd/heavymodel

# The Python peers' venv, made once from bench/peers/requirements.txt on
# Debian's python3: pytriton's Python backend stub links the system
# libpython3.11, and a venv of another 3.11 build (pyenv's) breaks inside it.
py_peer() {
	local dir=bench/results/peers/pyvenv
	if [[ ! -x $dir/bin/mlserver || ! -x $dir/bin/pytriton ]]; then
		rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
		{ /usr/bin/python3 -m venv "$dir" && "$dir/bin/pip" install -q -r bench/peers/requirements.txt >&2; } || {
			echo "run.sh: installing the Python peers failed (mlserver, nvidia-pytriton and onnxruntime from PyPI, into $dir)" >&2
			return 1
		}
	fi
	echo "$dir"
}

# is_v2 SCENARIO: whether the scenario speaks v2 REST to the heavy MLP's
# tensor model (bench/predict-v2.lua) rather than /v1 (bench/predict.lua).
is_v2() { [[ $1 == v2-* || $1 == mlserver-* || $1 == pytriton-* ]]; }

# version_dir ALIAS: the registry folder of customer-churn's version behind
# an alias (the node peer reads model.onnx and metadata.json from it).
version_dir() {
	local v
	v=$(bin/infergate registry show "customer-churn@$1" --registry "$REGISTRY" | awk '$1 == "version" {print $2}')
	echo "$REGISTRY/customer-churn/$v"
}

echo "== scratch registry: demo model, then the heavy MLP"
if [[ ${KEEP_REGISTRY:-0} == 1 && -d $REGISTRY/customer-churn ]]; then
	echo "(KEEP_REGISTRY=1: the one already there)"
else
	rm -rf "$REGISTRY"
	bin/infergate train --demo --registry "$REGISTRY" --demo-data "$OUT/churn.csv" | tee "$OUT/train.txt"
	"$OUT/heavymodel" --registry "$REGISTRY" --hidden "$HIDDEN" --layers "$LAYERS" --measure | tee "$OUT/heavymodel.txt"
fi
# The same file as a model of its own, as a user brings one: the v2
# scenarios serve it by its tensor names (features in, probability out).
if [[ ! -d $REGISTRY/heavy ]]; then
	bin/infergate registry import "$(version_dir heavy)/model.onnx" --model heavy --version 1.0.0 --registry "$REGISTRY" >"$OUT/import-heavy.txt"
fi

# configs/bench/gateway-demo-batch.yaml serves scenario demo-batch, and so on.
for f in configs/bench/gateway-*.yaml; do
	base=$(basename "$f")
	base=${base#gateway-}
	if [[ -n $INSTANCES ]]; then
		sed -E "s/^( *instances:).*/\1 $INSTANCES/" "$f" >"$OUT/configs/$base"
	else
		cp "$f" "$OUT/configs/$base"
	fi
done

# The node-ort peer, installed into a cache folder once (npm ci from its
# lock file; --ignore-scripts: its install script fetches GPU parts from
# elsewhere, and the CPU library ships in the package).
PEERS=${PEERS:-../shared/peers}
node_peer() {
	local dir=bench/results/peers/node-ort
	if [[ ! -d $dir/node_modules ]]; then
		command -v npm >/dev/null || { echo "run.sh: the node-ort peer needs node and npm" >&2; return 1; }
		rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && cp -r "$PEERS/node-ort" "$dir"
		(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null) || {
			echo "run.sh: npm ci of the node-ort peer failed (onnxruntime-node from the npm registry)" >&2
			return 1
		}
	fi
	echo "$dir"
}

# start SCENARIO LOG: starts the scenario's server, waits until it is ready,
# and sets srv to its pid.
start() {
	local scenario=$1 log=$2 i
	if [[ $scenario == fixedbody ]]; then
		"$OUT/fixedbody" --listen "$ADDR" >"$log" 2>&1 &
	elif [[ $scenario == node-* ]]; then
		local peer model batch
		peer=$(node_peer) || return 1
		model=${scenario#node-}
		batch=${model#*-b}
		model=${model%-b*}
		case $model in
		demo) model=$REGISTRY/customer-churn/1.0.0 ;;
		heavy) model=$(version_dir heavy) ;;
		esac
		MODEL_DIR=$PWD/$model PORT=${ADDR##*:} BATCH=$batch WORKERS=${WORKERS:-2} node "$peer/server.js" >"$log" 2>&1 &
	elif [[ $scenario == mlserver-heavy || $scenario == pytriton-heavy ]]; then
		local venv model=$PWD/$REGISTRY/heavy/1.0.0/model.onnx
		venv=$(py_peer) || return 1
		venv=$PWD/$venv
		if [[ $scenario == mlserver-* ]]; then # ports in bench/peers/mlserver/settings.json
			local metrics=$PWD/$OUT/mlserver-metrics
			(cd bench/peers/mlserver && PATH=$venv/bin:$PATH PEER_MODEL=$model MLSERVER_PARALLEL_WORKERS=${INSTANCES:-2} MLSERVER_METRICS_DIR=$metrics \
				exec mlserver start .) >"$log" 2>&1 &
		else
			PEER_MODEL=$model PORT=${ADDR##*:} INSTANCES=${INSTANCES:-2} "$venv/bin/python" bench/peers/pytriton/server.py >"$log" 2>&1 &
		fi
	else
		bin/infergate serve --config "$OUT/configs/$scenario.yaml" --listen "$ADDR" --admin-listen "$ADMIN" >"$log" 2>&1 &
	fi
	srv=$!
	pids+=("$srv")
	for ((i = 0; i < 300; i++)); do
		if is_v2 "$scenario"; then
			curl -fsS -o /dev/null "http://$ADDR/v2/models/heavy/ready" 2>/dev/null && return 0
		elif curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null || curl -fsS -o /dev/null "http://$ADDR/healthz" 2>/dev/null; then
			return 0
		fi
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.1
	done
	echo "run.sh: $scenario did not become ready; its log:" >&2
	cat "$log" >&2
	return 1
}

cpu_ticks() { # user+system clock ticks so far of a process and its descendants (the peers' workers, Triton's stubs)
	local p t=0
	for p in "$1" $(pgrep -P "$1"); do
		if [[ $p == "$1" ]]; then
			t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)))
		else
			t=$((t + $(cpu_ticks "$p")))
		fi
	done
	echo "$t"
}

batch_stats() { # "sum count" of the batch-size histogram, or "0 0"
	if [[ $s == node-* ]]; then # the peer's /stats, one worker per call: ask until each answered
		local i
		for ((i = 0; i < 40; i++)); do curl -fsS "http://$ADDR/stats" 2>/dev/null; echo; done |
			awk -F'[:,}]' 'NF > 1 {p[$2] = $4 " " $6} END {for (k in p) {split(p[k], v, " "); s += v[2]; c += v[1]}; printf "%d %d\n", s, c}'
		return
	fi
	if [[ $s == mlserver-* || $s == pytriton-* ]]; then # rows per predict call (runtime.py), rows and runs (Triton's own)
		curl -fsS "http://$PEER_METRICS/metrics" 2>/dev/null | awk '
			/^(peer_batch_rows_sum|nv_inference_count)\{/ {s += $NF}
			/^(peer_batch_rows_count|nv_inference_exec_count)\{/ {c += $NF}
			END {printf "%d %d\n", s, c}' || echo "0 0"
		return
	fi
	curl -fsS "http://$ADMIN/metrics" 2>/dev/null | awk '
		/^infergate_batcher_batch_size_sum/ {s += $NF}
		/^infergate_batcher_batch_size_count/ {c += $NF}
		END {printf "%d %d\n", s, c}' || echo "0 0"
}

cpu_stat() { # machine-wide "busy steal total" jiffies from /proc/stat
	awk '$1 == "cpu" {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, $9, t}' /proc/stat
}

to_ms() { # wrk duration (850.00us, 1.20ms, 2.00s) to milliseconds
	awk -v d="$1" 'BEGIN {
		v = d + 0
		if (d ~ /us$/) v /= 1000; else if (d ~ /ms$/) v = v; else if (d ~ /m$/) v *= 60000; else if (d ~ /s$/) v *= 1000
		printf "%.2f", v }'
}

wrk_run() { # wrk_run CONNS SECONDS OUTFILE: wrk in the background, tracked
	local timing=()
	[[ -x /usr/bin/time ]] && timing=(/usr/bin/time -f '%U %S' -o "$3.cpu")
	local script=bench/predict.lua
	is_v2 "$s" && script=bench/predict-v2.lua
	"${timing[@]}" timeout $(($2 + 10)) wrk -t"$THREADS" -c"$1" -d"$2"s --timeout 5s --latency \
		-s "$script" "http://$ADDR" >"$3" 2>&1 &
	local w=$!
	pids+=("$w")
	if [[ $PROFILE == 1 && -n ${4:-} ]]; then
		sleep 1
		perf record -e cpu-clock -F 499 -g -p "$4" -o "$5" -- sleep $(($2 - 2)) >/dev/null 2>&1 || true
	fi
	wait "$w" || {
		echo "run.sh: wrk failed:" >&2
		cat "$3" >&2
		return 1
	}
	local kept=() p
	for p in "${pids[@]}"; do [[ $p == "$w" ]] || kept+=("$p"); done
	pids=("${kept[@]}")
}

results=$OUT/results.tsv
printf 'round\tconns\tscenario\trps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tnon2xx\tsock_err\tserver_cpu\twrk_cpu\tmachine_busy\tsteal\tmean_batch\n' >"$results"
printf '\n%-5s %-5s %-13s %9s %8s %8s %8s %7s %7s %7s %5s %5s %6s\n' round conns scenario req/s p50_ms p90_ms p99_ms non2xx srv_cpu wrk_cpu busy steal batch
for ((round = 1; round <= ROUNDS; round++)); do
	for c in $CONNS; do
		for s in $SCENARIOS; do
			tag=r$round-c$c-$s
			start "$s" "$OUT/logs/$tag.log"
			wrk_run "$c" "$WARMUP" "$OUT/logs/$tag.warmup.txt"
			read -r bs0 bc0 < <(batch_stats)
			t0=$(cpu_ticks "$srv")
			read -r mb0 ms0 mt0 < <(cpu_stat)
			wrk_run "$c" "$DURATION" "$OUT/logs/$tag.wrk.txt" "$srv" "$OUT/logs/$tag.perf.data"
			t1=$(cpu_ticks "$srv")
			read -r mb1 ms1 mt1 < <(cpu_stat)
			read -r bs1 bc1 < <(batch_stats)
			stop "$srv"

			w=$OUT/logs/$tag.wrk.txt
			rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$w")
			p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$w")")
			p90=$(to_ms "$(awk '$1 == "90%" {print $2}' "$w")")
			p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$w")")
			max=$(to_ms "$(awk '$1 == "Latency" {print $4}' "$w")")
			non2xx=$(awk '/Non-2xx/ {print $NF}' "$w")
			sockerr=$(awk '/Socket errors/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$w")
			srvcpu=$(awk -v a="$t0" -v b="$t1" -v d="$DURATION" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f%%", 100 * (b - a) / hz / d}')
			wrkcpu=-
			[[ -s $w.cpu ]] && wrkcpu=$(awk -v d="$DURATION" 'END {printf "%.0f%%", 100 * ($1 + $2) / d}' "$w.cpu")
			# Machine-wide busy and stolen CPU, in the same unit as the
			# server's and wrk's (100% = one core): busy well above srv + wrk
			# means something else ran during the measurement.
			busy=$(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) -v n="$(nproc)" 'BEGIN {printf "%.0f%%", 100 * n * b / t}')
			steal=$(awk -v s=$((ms1 - ms0)) -v t=$((mt1 - mt0)) -v n="$(nproc)" 'BEGIN {printf "%.0f%%", 100 * n * s / t}')
			batch=-
			((bc1 > bc0)) && batch=$(awk -v s=$((bs1 - bs0)) -v c=$((bc1 - bc0)) 'BEGIN {printf "%.2f", s / c}')
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" "$s" "$rps" "$p50" "$p90" "$p99" "$max" \
				"${non2xx:-0}" "${sockerr:-0}" "$srvcpu" "$wrkcpu" "$busy" "$steal" "$batch" >>"$results"
			printf '%-5s %-5s %-13s %9s %8s %8s %8s %7s %7s %7s %5s %5s %6s\n' "$round" "$c" "$s" "$rps" "$p50" "$p90" "$p99" \
				"${non2xx:-0}" "$srvcpu" "$wrkcpu" "$busy" "$steal" "$batch"
			if [[ $PROFILE == 1 && -s $OUT/logs/$tag.perf.data ]]; then
				perf report -i "$OUT/logs/$tag.perf.data" --stdio --no-children --sort dso 2>/dev/null >"$OUT/logs/$tag.perf-dso.txt" || true
				perf report -i "$OUT/logs/$tag.perf.data" --stdio --children --sort symbol -g none --percent-limit 2 2>/dev/null >"$OUT/logs/$tag.perf-children.txt" || true
				perf report -i "$OUT/logs/$tag.perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0.5 2>/dev/null >"$OUT/logs/$tag.perf-self.txt" || true
			fi
		done
	done
done

# Ratios per round and connection count: (a) gateway / fixedbody, (b)
# batching on / off for each model. A missing scenario prints "-".
echo
echo "== ratios (per round; goal a: demo-batch/fixedbody >= 0.40; goal b: batch/nobatch >= 2.5)"
awk -F'\t' -v conns="$CONNS" 'NR > 1 { r[$1 FS $2 FS $3] = $4; rounds[$1] }
	function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
	END {
		printf "%-5s %-5s %12s %12s %12s %14s %14s %14s %12s %12s\n", "round", "conns", "a:gw/fixed", "b:demo", "b:heavy", "adaptive/node", "adaptive/off", "adaptive/fixed", "v2/mlserver", "v2/pytriton"
		n = split(conns, cs, " ")
		for (rd = 1; rd in rounds; rd++)
			for (i = 1; i <= n; i++) {
				k = rd FS cs[i] FS
				printf "%-5s %-5s %12s %12s %12s %14s %14s %14s %12s %12s\n", rd, cs[i],
					ratio(r[k "demo-batch"], r[k "fixedbody"]),
					ratio(r[k "demo-batch"], r[k "demo-nobatch"]),
					ratio(r[k "heavy-batch"], r[k "heavy-nobatch"]),
					ratio(r[k "heavy-adaptive"], r[k "node-heavy-b64"]),
					ratio(r[k "heavy-adaptive"], r[k "heavy-nobatch"]),
					ratio(r[k "heavy-adaptive"], r[k "heavy-batch"]),
					ratio(r[k "v2-heavy"], r[k "mlserver-heavy"]),
					ratio(r[k "v2-heavy"], r[k "pytriton-heavy"])
			}
	}' "$results" | tee "$OUT/ratios.txt"
echo
echo "results: $results"
