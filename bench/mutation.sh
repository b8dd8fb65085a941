#!/usr/bin/env bash
# Mutation testing of the storage and delivery modules (outbox, failed list, history, limiter,
# dispatcher, job recovery) against the tests that pin their behaviour; see [tool.mutmut] in
# pyproject.toml. The tests mostly wait on Redis and delivery threads rather than compute, so many
# children fit on 2 cores: a fresh run of 1,483 mutants took 27 minutes with 12. Run on demand, not in CI.
#   bench/mutation.sh                 # run (resumes: mutants already tested keep their result)
#   bench/mutation.sh --fresh         # start over, e.g. after the code or the tests changed
#   mutmut run <mutant name> ...      # test some mutants again (after adding a test)
#   mutmut show <mutant name>         # the diff of one surviving mutant
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
MUTMUT=${MUTMUT:-$(dirname "$(command -v "$PY")")/mutmut}
if [[ "${1:-}" == "--fresh" ]]; then rm -rf mutants; shift; fi
"$MUTMUT" run --max-children "${MUTMUT_CHILDREN:-12}" "$@" || true
"$PY" - "$MUTMUT" <<'PY'
"""Score per module from mutmut's results."""
import collections
import subprocess
import sys

out = subprocess.run([sys.argv[1], "results", "--all", "true"], capture_output=True, text=True).stdout
by_module = collections.defaultdict(collections.Counter)
for line in out.splitlines():
    name, _, status = line.strip().rpartition(": ")
    if name:
        by_module[name.split(".x")[0]][status] += 1
total = collections.Counter()
print(f"{'module':28} {'mutants':>8} {'killed':>8} {'survived':>9} {'other':>6} {'score':>7}")
for module, counts in sorted(by_module.items()):
    n = sum(counts.values())
    killed = counts["killed"] + counts["timeout"]
    other = n - killed - counts["survived"]
    total.update(counts)
    print(f"{module:28} {n:8} {killed:8} {counts['survived']:9} {other:6} {killed / n:7.1%}")
n = sum(total.values())
killed = total["killed"] + total["timeout"]
print(f"{'all':28} {n:8} {killed:8} {total['survived']:9} {n - killed - total['survived']:6} {killed / max(1, n):7.1%}")
PY
