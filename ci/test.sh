#!/usr/bin/env bash
# Installs every dependency, checks the formatting of every source file, then builds and tests
# polyarch four ways, each in its own build tree (CMakePresets.json; docs/development.md,
# "Sanitizers and fuzzing"):
#   default  build/       the whole test suite: labels unit, privileged, emulated, bench
#   asan     build-asan/  the whole test suite again, under AddressSanitizer and UBSan
#   tsan     build-tsan/  the unit tests under ThreadSanitizer
#   fuzz     build-fuzz/  every libFuzzer target for a bounded time (label fuzz)
# This is the README's test command and all that .ci/run calls. Every stage runs even when
# an earlier one failed (a preset's tests only when its build succeeded), so one run shows
# every failure; the time each stage took is printed at the end. Exit 1 if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."

summary=()
failed=0

# stage NAME COMMAND...: runs and times one step of the job.
stage() {
  local name=$1
  shift
  local start=$SECONDS rc=0
  echo "=== ci: ${name}: $*"
  "$@" || rc=$?
  local took=$((SECONDS - start)) verdict=ok
  if [[ $rc -ne 0 ]]; then
    verdict="FAILED (exit $rc)"
    failed=1
  fi
  summary+=("$(printf '%-14s %3dm%02ds  %s' "$name" $((took / 60)) $((took % 60)) "$verdict")")
  return "$rc"
}

# tests PRESET BUILD_DIR: ctest with the preset; when it fails, the build tree is remembered so
# the end of the log names every failed test and why (CI may keep only the log's tail).
failed_trees=()
# Unit tests run beside the integration tests, which take turns on the stack (their resource
# lock, tests/CMakeLists.txt).
tests() {
  stage "$1 tests" ctest --preset "$1" --parallel "$(nproc)" || failed_trees+=("$2")
}

# build_and_test PRESET: configure, build, then (only if that worked) ctest with the preset.
build_and_test() {
  local preset=$1
  if stage "${preset} build" build "$preset"; then
    tests "$preset" "build-${preset}"
  fi
}

# digest BUILD_DIR: each failed test of the tree's last ctest run, with the lines of its output
# that say why (a gtest failure or polyarch's "not passing" list and the lines after it,
# sanitizer reports, errors), at most 16 per test. A test with none was most likely stopped
# by its timeout.
digest() {
  awk -v tree="$1" '
    /^[0-9]+\/[0-9]+ Test: / { name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); n = 0; out = 0; next }
    /^Output:$/ { out = 1; follow = 0; next }
    /^<end of output>$/ { out = 0; next }
    # polyarch progress lines of cases that passed or were expected to fail (whose reasons may
    # well say "error") are no reason; they must not crowd out the ones that are.
    out && /^ *\[ *[0-9]+\/[0-9]+\] +(pass|xfail|skip) / { next }
    out && /: Failure$/ { follow = 4 }
    out && /^not passing \(/ { follow = 9 }
    out && (follow-- > 0 || /FAILED|[Ee]rror|Sanitizer|SKIPPED|[Tt]imeout|^exit code /) {
      if (n < 16) why[n++] = substr($0, 1, 200)
      next
    }
    /^Test time = / { took = $4 " s" }
    /^Test Failed\.$/ {
      printf "  %s: %s (%s)\n", tree, name, took
      for (i = 0; i < n; i++) printf "      %s\n", why[i]
    }
  ' "$1/Testing/Temporary/LastTest.log" 2>/dev/null
}

build() {
  cmake --preset "$1" && cmake --build --preset "$1"
}

total_start=$SECONDS
stage setup bash ci/setup.sh || exit 1
stage format bash ci/check_format.sh
# The compiler cache every preset uses (CMakeLists.txt, POLYARCH_CCACHE_DIR): its statistics
# are reset so the summary says how much of this job it served.
ccache_dir=/var/cache/polyarch/ccache
CCACHE_DIR=$ccache_dir ccache -z >/dev/null 2>&1 || true

if stage "default build" build default; then
  # The documented host fixes (docs/host.md, "What polyarch changes on a host"): without them crun
  # refuses a hybrid cgroup layout and its cases could only be skipped. In CI nothing is
  # skipped; the fix is host state, so it holds for the sanitizer builds too.
  stage "doctor --fix" ./build/polyarch doctor --fix
  tests default build
fi
build_and_test asan
build_and_test tsan
build_and_test fuzz

total=$((SECONDS - total_start))
echo
echo "=== ci: summary"
printf '  %s\n' "${summary[@]}"
printf '  %-14s %3dm%02ds  of the 90-minute limit (%d%%)\n' total $((total / 60)) $((total % 60)) \
  $((total * 100 / 5400))
if command -v ccache >/dev/null 2>&1; then
  echo "  compiler cache: $(CCACHE_DIR=$ccache_dir ccache -s |
    awk '/^ +Hits:/ { print $2 " of " $4 " compilations hit" ; exit }')"
fi
if [[ ${#failed_trees[@]} -gt 0 ]]; then
  echo "=== ci: failed tests"
  for tree in "${failed_trees[@]}"; do digest "$tree"; done
fi
exit "$failed"
