#!/usr/bin/env bash
# The host benchmark table (`make bench`): events/s, instructions/event and
# allocations/event through decode, + state, + the default rules, + Falco's
# three upstream rule files, over the busy-container-host capture of
# consumer/src/workload.rs.  One core (taskset -c 0 when available).
#
#   EVENTS   events in the capture for the timed runs (default 200000)
#   ROUNDS   timed passes per row, best kept (default 10)
#   CG_EVENTS events for the callgrind runs (default 50000)
#   FALCO_RULES folder of falco_rules.yaml & co (default ../shared/falco-rules)
#   NO_CALLGRIND=1 skips the instruction counts
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-200000}
ROUNDS=${ROUNDS:-10}
CG_EVENTS=${CG_EVENTS:-50000}
export FALCO_RULES=${FALCO_RULES:-$(cd .. && pwd)/shared/falco-rules}
[ -d "$FALCO_RULES" ] || FALCO_RULES=/work/shared/falco-rules

bin=$(cargo bench -p kestrel --bench pipeline --no-run --message-format=json 2>/dev/null |
	sed -n 's/.*"executable":"\([^"]*pipeline[^"]*\)".*/\1/p' | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
	echo "bench.sh: building the pipeline benchmark failed" >&2
	cargo bench -p kestrel --bench pipeline --no-run >&2
	exit 1
fi

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

table=$(EVENTS=$EVENTS ROUNDS=$ROUNDS "${pin[@]}" "$bin")

declare -A instr
if [ -z "${NO_CALLGRIND:-}" ] && command -v valgrind >/dev/null; then
	# One steady-state pass per row: the warm-up pass runs the same loop
	# from warm_* functions, outside the count.
	for phase in decode state default upstream; do
		case $phase in
		decode) fn=phase_decode ;;
		state) fn=phase_state ;;
		*) fn=phase_rules ;;
		esac
		out=$(mktemp)
		PHASE=$phase EVENTS=$CG_EVENTS ROUNDS=1 WARM=1 \
			valgrind --tool=callgrind --callgrind-out-file="$out" \
			--collect-atstart=no --toggle-collect="*${fn}*" \
			"$bin" >/dev/null 2>&1 || true
		total=$(sed -n 's/^summary: //p;s/^totals: //p' "$out" | head -1 | awk '{print $1}')
		rm -f "$out"
		[ -n "$total" ] && instr[$phase]=$((total / CG_EVENTS))
	done
fi

echo "Host benchmark: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, one used; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| path | M events/s | instructions/event | allocs/event |"
echo "|------|-----------:|-------------------:|-------------:|"
echo "$table" | while IFS='|' read -r _ name rate allocs _; do
	name=$(echo "$name" | sed 's/^ *//;s/ *$//')
	case $name in
	decode) key=decode ;;
	"+ state") key=state ;;
	"+ default rules") key=default ;;
	"+ upstream 3 files") key=upstream ;;
	*) continue ;;
	esac
	echo "| $name |$rate| ${instr[$key]:-n/a} |$allocs|"
done
