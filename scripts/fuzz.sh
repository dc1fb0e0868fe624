#!/usr/bin/env bash
# Runs every native Go fuzz target of the module (func FuzzXxx(f *testing.F))
# for FUZZTIME each, one after another, and prints one line per target:
# package, name, seconds it took (build included), the execs of its last
# "fuzz: elapsed" line, and its result. A target that fails leaves its crasher
# under the package's testdata/fuzz/FuzzXxx/, as go test does, and the script
# fails once every target has run; add the crasher to git as a seed with the fix.
#
#   scripts/fuzz.sh                       # every package of the module
#   scripts/fuzz.sh ./configs/ ./score/   # only these packages
#   FUZZTIME=5s scripts/fuzz.sh           # the short pass CI runs
#
# FUZZTIME      how long each target runs (default 2m; go test's -fuzztime, so
#               1000x means 1000 inputs)
# FUZZPARALLEL  fuzzing worker processes per target (default 1)
# FUZZTIMEOUT   go test's -timeout for each target (default 30m), which a hang
#               or a FUZZTIME near it trips
# FUZZMINIMIZETIME  go test's -fuzzminimizetime (default 0: off). go test
#               minimizes every input that finds new coverage, not only
#               crashers, for up to 60s by default: on a target whose seeds
#               are whole config files that took 2 of 2 minutes. Set it (30s)
#               for a smaller crasher when hunting one bug.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-2m}
FUZZPARALLEL=${FUZZPARALLEL:-1}
FUZZTIMEOUT=${FUZZTIMEOUT:-30m}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-0}
if [ $# -eq 0 ]; then
	set -- ./...
fi
module=$($GO list -m)

# Only packages whose test files declare a fuzz target are built to be
# listed: go test -list then names the targets as go test sees them.
candidates=()
while read -r pkg dir files; do
	for f in $files; do
		if grep -q '^func Fuzz' "$dir/$f"; then
			candidates+=("$pkg")
			break
		fi
	done
done < <($GO list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' "$@")
if [ ${#candidates[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets in $*" >&2
	exit 1
fi

if ! listing=$($GO test -list '^Fuzz' "${candidates[@]}" 2>&1); then
	echo "$listing" >&2
	echo "fuzz.sh: cannot list the fuzz targets; the packages above must build" >&2
	exit 1
fi
# go test -list prints a package's names, then "ok  <package>  <time>".
targets=()
names=()
while read -r first second _; do
	case $first in
	Fuzz*) names+=("$first") ;;
	ok)
		for n in "${names[@]}"; do
			targets+=("$second $n")
		done
		names=()
		;;
	esac
done <<<"$listing"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "fuzz.sh: ${#targets[@]} targets, FUZZTIME=$FUZZTIME each, FUZZPARALLEL=$FUZZPARALLEL"
printf '%-28s %-24s %8s %12s  %s\n' PACKAGE TARGET SECONDS EXECS RESULT
summary=()
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	start=$(date +%s)
	result=ok
	if ! $GO test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" \
		-parallel "$FUZZPARALLEL" -timeout "$FUZZTIMEOUT" "$pkg" >"$log" 2>&1; then
		crasher=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | tail -n 1)
		seed=$(sed -n 's/^failure while testing seed corpus entry: //p' "$log" | tail -n 1)
		if [ -z "$crasher" ] && [ -z "$seed" ] && grep -q 'context deadline exceeded' "$log" &&
			! grep -q -- '^    --- FAIL\|^panic:\|_test\.go:[0-9]*:' "$log"; then
			# go test's fuzzing coordinator sometimes ends a run at
			# -fuzztime with "context deadline exceeded" while a worker is
			# between inputs, and writes no failing input: that is the
			# deadline, not a bug found.
			result="ok (go test said \"context deadline exceeded\" at -fuzztime, no failing input)"
		else
			failed=$((failed + 1))
			result=FAIL
			if [ -n "$crasher" ]; then
				result="FAIL: crasher ${pkg#"$module"/}/$crasher"
			elif [ -n "$seed" ]; then
				result="FAIL: seed $seed"
			fi
			cat "$log"
		fi
	fi
	execs=$(sed -n 's/^fuzz: elapsed: .*, execs: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	line=$(printf '%-28s %-24s %8d %12s  %s' "${pkg#"$module"/}" "$name" $(($(date +%s) - start)) "${execs:--}" "$result")
	echo "$line"
	summary+=("$line")
done

if [ "$failed" -gt 0 ]; then
	echo
	echo "fuzz.sh: $failed of ${#targets[@]} targets failed:"
	printf '%s\n' "${summary[@]}" | grep ' FAIL' || true
	exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, no failures"
