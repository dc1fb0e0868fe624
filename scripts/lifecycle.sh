#!/usr/bin/env bash
# The model lifecycle, end to end, on one machine: train v1 → serve → the
# traffic shifts and drift shows it → train v2 on the shifted data → shadow
# compares v2 with v1 on live traffic → the canary steps v2 up and promotes
# it → the gateway swaps it in → the drift report is clean again.
#
#   make lifecycle                 # builds bin/infergate, then runs this
#   scripts/lifecycle.sh           # with bin/infergate already built
#
# WORK      folder for the registry, data, config and server log (default: a
#           new temporary folder, removed at the end unless KEEP=1)
# PORT      public API port (default 18280); ADMIN_PORT the admin API's
#           (default PORT+1)
# RATE      requests per second of each traffic phase (default 400)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/infergate}
PORT=${PORT:-18280}
ADMIN_PORT=${ADMIN_PORT:-$((PORT + 1))}
RATE=${RATE:-400}
if [ -z "${WORK:-}" ]; then
	WORK=$(mktemp -d)
	[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
API=http://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$ADMIN_PORT
MODEL=customer-churn
R=$WORK/registry

# field prints the first value of "name": in a JSON text (indented as the
# admin API writes it), optionally only one that matches a pattern.
field() {
	local name=$1 json=$2 pattern=${3:-[^,]*}
	printf '%s\n' "$json" | sed -nE "s/^ *\"$name\": \"?($pattern)\"?,?\$/\1/p" | head -n 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "lifecycle: $*" >&2; exit 1; }

# traffic sends RATE requests a second of the shifted rows for about 6s.
traffic() {
	"$BIN" bench --url "$API/v1/predictions" --dataset "$WORK/shifted.csv" --model-id "$MODEL" \
		--drop churned --rate "$RATE" --warmup 1s --window 2s --max-windows 3 --out "$WORK/bench" 2>/dev/null |
		awk '/  target  / { sub(/^!?[0-9]* */, ""); print }' 
}

# await polls an admin URL until its body matches a pattern, for at most
# 60 seconds.
await() {
	local url=$1 pattern=$2 what=$3
	for _ in $(seq 240); do
		if curl -fs "$url" | grep -qE "$pattern"; then
			return 0
		fi
		sleep 0.25
	done
	fail "waited 60s for $what ($url)"
}

step "1. Train v1 on the demo data; it becomes production (staging follows it until a candidate exists)"
"$BIN" train --demo --registry "$R" --demo-data "$WORK/churn.csv" | tail -n 4
"$BIN" registry alias "$MODEL" staging 1.0.0 --registry "$R" --by lifecycle

step "2. Serve: primary production, candidate staging (shadowed, canary with analysis), drift on every request"
cat >"$WORK/infergate.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, admin_listen: 127.0.0.1:$ADMIN_PORT}
registry: {root: $R, watch_interval: 500ms}
auth: {mode: off, admin: {mode: off, audit_log: $WORK/audit.log}}
routes:
  - name: $MODEL
    version: production
    targets:
      - {name: candidate, version: staging}
    shadow: {targets: [candidate], sample: 100}
    canary:
      target: candidate
      sticky: {feature: customer_id}
      analysis: {steps: [10, 50, 100], min_requests: 50, dwell: 2s, interval: 250ms, p99_slack: 50ms, min_agreement: 0.5}
    drift: {sample_rate: 1, window: 10m, buckets: 10}
EOF
"$BIN" validate --config "$WORK/infergate.yaml"
"$BIN" serve --config "$WORK/infergate.yaml" >"$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true; wait $SERVE 2>/dev/null || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT
await "$API/readyz" ready "the gateway to be ready"
curl -fs "$ADMIN/v1/routes/$MODEL" | grep -A3 '"canary"'

step "3. The customers change: monthly charges up 40%. Traffic from the shifted data; v1's drift report"
# churn.csv columns: customer_id, tenure_months, monthly_charges, total_charges, ...
awk -F, -v OFS=, 'NR == 1 { print; next } { $3 = sprintf("%.2f", $3 * 1.4); if ($4 != "") $4 = sprintf("%.2f", $4 * 1.4); print }' \
	"$WORK/churn.csv" >"$WORK/shifted.csv"
traffic
curl -fs "$ADMIN/v1/models/$MODEL/drift?format=text" | sed -n '1,/^$/p'

step "4. Train v2 on the shifted data; it is registered as staging and the gateway swaps it in as the candidate"
"$BIN" train --data "$WORK/shifted.csv" --target churned --model "$MODEL" --registry "$R" | tail -n 4
await "$ADMIN/v1/routes/$MODEL" '"state": "analysing"' "the canary to analyse v2"

step "5. Shadow and canary: v2 answers a copy of every request; the canary steps it up while it does as well as v1"
traffic &
TRAFFIC=$!
# Poll the route while the analysis runs, keeping its last shadow report:
# once the canary promotes, the gateway swaps v2 in within a watch interval
# and the route's figures start again.
weights="" state=analysing
for _ in $(seq 240); do
	status=$(curl -fs "$ADMIN/v1/routes/$MODEL")
	state=$(field state "$status" 'analysing|promoted|rolled_back|idle')
	[ "$state" = analysing ] || break
	w=$(field weight_percent "$status")
	case " $weights " in *" $w% "*) ;; *) weights="$weights $w%" ;; esac
	curl -fs "$ADMIN/v1/routes/$MODEL/shadow" >"$WORK/shadow.json"
	sleep 0.25
done
wait $TRAFFIC
shadow=$(cat "$WORK/shadow.json")
echo "shadow:  v2 answered $(field compared "$shadow") of $(field requests "$shadow") mirrored requests;" \
	"label agreement with v1 $(printf %.3f "$(field agreement "$shadow")"), |p(v2) - p(v1)| mean $(printf %.3f "$(field mean "$shadow")"), p99 $(printf %.3f "$(field p99 "$shadow")")"
echo "canary:  weights${weights}, then $state"
[ "$state" != rolled_back ] || fail "the canary rolled v2 back: $(field reason "$status")"

step "6. Promoted: production names v2 (the alias log says by whom); the gateway swaps it in and the canary goes idle"
"$BIN" registry show "$MODEL" --registry "$R" | grep -E 'production' | tail -n 3
await "$ADMIN/v1/routes/$MODEL" '"state": "idle"' "the promoted version to be swapped in"
curl -fs "$ADMIN/v1/routes/$MODEL" | grep -A3 '"canary"' | tail -n 2

step "7. The same shifted traffic; v2's drift report"
traffic
# One report, shown and checked: two fetches could straddle a bucket's turn.
report=$(curl -fs "$ADMIN/v1/models/$MODEL/drift?format=text")
echo "$report" | sed -n '1,/^$/p'
echo "$report" | head -n 1 | grep -q '(drifted: none)' || fail "v2 drifts on the data it was trained on"

echo
echo "lifecycle: done (work folder $WORK)"
