#!/usr/bin/env bash
# Runs test files with node's test runner in two passes: most files two at a time (they mostly wait on
# sockets and timers, so a second file uses the idle core), then the files that assert on real-time
# pacing or deadlines one at a time, so another file's load cannot shift their clocks.
#
# Usage: scripts/run-tests.sh [file...]   (default: test/*/*.test.ts). NODE selects the node binary.
set -uo pipefail
cd "$(dirname "$0")/.."

# Deadlines measured with real clocks: control-message pacing at the exchange's rate limit, pong
# deadlines of 1.5 s, a 30 s budget for repacking thousands of streams, the 5,000-client soak.
serial_files=(
  test/manager/liveness.test.ts
  test/manager/packing.test.ts
  test/gateway/downstream.test.ts
  test/gateway/soak.test.ts
)

if [ "$#" -gt 0 ]; then files=("$@"); else files=(test/*/*.test.ts); fi
parallel=()
serial=()
for f in "${files[@]}"; do
  if [[ " ${serial_files[*]} " == *" $f "* ]]; then serial+=("$f"); else parallel+=("$f"); fi
done

node_bin=${NODE:-node}
status=0
if [ "${#parallel[@]}" -gt 0 ]; then
  "$node_bin" --import tsx --test --test-concurrency=2 "${parallel[@]}" || status=$?
fi
if [ "${#serial[@]}" -gt 0 ]; then
  "$node_bin" --import tsx --test --test-concurrency=1 "${serial[@]}" || status=$?
fi
exit "$status"
