# tests/ship/lib.sh -- helpers for the host-run install checks (sourced).
#
# Each check is a bash script that sources this file, runs real tools and
# asserts on their output; `make ship-test` runs them all.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=$(basename "$0" .sh)
CACHE=${KESTREL_CACHE:-/var/cache/kestrel}
FAILS=0
PASSES=0

log() { echo "$TEST: $*" >&2; }
die() { echo "$TEST: error: $*" >&2; exit 1; }

pass() { PASSES=$((PASSES + 1)); echo "ok   $TEST: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $TEST: $*"; }

# run CMD...: runs it, keeping its status in RC and stdout+stderr in OUT.
run() {
	RC=0
	OUT=$("$@" 2>&1) || RC=$?
}

# expect_rc N WHAT
expect_rc() {
	if [ "$RC" -eq "$1" ]; then pass "$2: exit $1"; else
		fail "$2: exit $RC, expected $1; output:"; sed 's/^/     | /' <<<"$OUT"
	fi
}

# expect_out TEXT WHAT: OUT contains TEXT (fixed string)
expect_out() {
	if grep -qF -- "$1" <<<"$OUT"; then pass "$2: says '$1'"; else
		fail "$2: output lacks '$1'; output:"; sed 's/^/     | /' <<<"$OUT"
	fi
}

# expect_no_out TEXT WHAT
expect_no_out() {
	if grep -qF -- "$1" <<<"$OUT"; then
		fail "$2: output has '$1'; output:"; sed 's/^/     | /' <<<"$OUT"
	else pass "$2: does not say '$1'"; fi
}

# expect_file_has FILE TEXT WHAT
expect_file_has() {
	if [ -f "$1" ] && grep -qF -- "$2" "$1"; then pass "$3: $(basename "$1") has '$2'"; else
		fail "$3: $1 lacks '$2'; it holds:"; sed 's/^/     | /' "$1" 2>/dev/null || true
	fi
}

expect_file_lacks() {
	if [ -f "$1" ] && grep -qF -- "$2" "$1"; then
		fail "$3: $1 has '$2'; it holds:"; sed 's/^/     | /' "$1"
	else pass "$3: $(basename "$1") lacks '$2'"; fi
}

# finish: prints the summary line and sets the exit status.
finish() {
	echo "$TEST: $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# The package version: the consumer crate's, which dkms.conf must repeat.
kestrel_version() {
	sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/consumer/Cargo.toml" | head -n 1
}
