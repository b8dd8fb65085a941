#!/usr/bin/env bash
# Flakiness check: runs the README's test command (./scripts/test -q) on fresh clones of HEAD,
# RUNS times in all, stopping at the first failure; LOOPS clones run side by side (the suite waits
# on Redis and subprocesses more than it computes, and the extra load is a harsher test).
#   bench/repeat.sh            # 10 runs, 2 clones side by side
#   RUNS=4 LOOPS=1 bench/repeat.sh
# Each run's summary line and time go to $LOG (/tmp/relay-repeat.log); a failed run's output is kept beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
LOOPS=${LOOPS:-2}
LOG=${LOG:-/tmp/relay-repeat.log}
commit=$(git rev-parse --short HEAD)
work=$(mktemp -d /tmp/relay-repeat-XXXX)
echo "$(date -u +%FT%TZ) $RUNS runs of ./scripts/test -q on $commit, $LOOPS clones side by side" | tee -a "$LOG"
stop="$work/stop"

loop() {
  local n=$1 runs=$2 clone="$work/clone$1"
  git clone -q "$PWD" "$clone" && git -C "$clone" checkout -q "$commit"
  for ((i = 1; i <= runs; i++)); do
    [[ -e $stop ]] && return 1
    local out="$work/clone$n.run$i.log" start=$SECONDS
    (cd "$clone" && ./scripts/test -q -p no:cacheprovider >"$out" 2>&1)
    local rc=$? summary
    summary=$(grep -E "^[0-9]+ (passed|failed)|[0-9]+ (passed|failed).* in " "$out" | tail -1)
    echo "$(date -u +%FT%TZ) clone $n run $i: rc=$rc $((SECONDS - start)) s  $summary" | tee -a "$LOG"
    if ((rc != 0)); then
      cp "$out" "${LOG%.log}.failed-$commit-clone$n-run$i.log"
      touch "$stop"
      return 1
    fi
  done
}

pids=()
for ((n = 1; n <= LOOPS; n++)); do
  share=$(( RUNS / LOOPS + (n <= RUNS % LOOPS ? 1 : 0) ))
  loop "$n" "$share" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
echo "$(date -u +%FT%TZ) $commit: $([[ $status == 0 ]] && echo "all $RUNS runs passed" || echo "stopped at a failure") " | tee -a "$LOG"
rm -rf "$work"
exit $status
