#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its seed corpus (the ctest `fuzz` tests):
#   run_fuzzer.sh FUZZER SEED_DIR ARTIFACT_DIR SECONDS [DICT]
# The seeds are copied to a temporary directory that libFuzzer may grow and that is removed
# afterwards, so the source tree is never written. Anything the run finds (crash-*, leak-*,
# timeout-*, oom-*) is kept in ARTIFACT_DIR; the exit code is the fuzzer's (0: nothing found).
set -euo pipefail

if [[ $# -lt 4 || $# -gt 5 ]]; then
  echo "usage: $0 FUZZER SEED_DIR ARTIFACT_DIR SECONDS [DICT]" >&2
  exit 2
fi
fuzzer=$1 seeds=$2 artifacts=$3 seconds=$4
extra=()
if [[ $# -eq 5 ]]; then extra+=(-dict="$5"); fi

work=$(mktemp -d "${TMPDIR:-/tmp}/polyarch-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp -R "$seeds/." "$work/corpus/"

# -timeout: one input taking 5 s is a hang; -rss_limit_mb: a parser that tries to hold a
# bomb in memory fails instead of the machine; -use_value_profile: comparisons against
# constants (field names, magic numbers) guide the search.
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -use_value_profile=1 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" "$work/corpus" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run_fuzzer: $(basename "$fuzzer") failed (exit $status); inputs kept in $artifacts:" >&2
  ls -l "$artifacts" >&2 || true
  # CI keeps only the log: small inputs are printed so a finding can be replayed anywhere
  # (base64 -d > input; FUZZER input).
  for f in "$artifacts"/*; do
    if [[ -f $f && $(stat -c %s "$f") -le 16384 ]]; then
      echo "run_fuzzer: $(basename "$f") as base64:" >&2
      base64 -w 0 "$f" >&2
      echo >&2
    fi
  done
fi
exit "$status"
