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

# record NAME SECONDS RC [NOTE]: one line of the summary; a non-zero RC fails the job.
record() {
  local verdict=ok
  if [[ $3 -ne 0 ]]; then
    verdict="FAILED (exit $3)"
    failed=1
  fi
  verdict+=${4:+ ($4)}
  summary+=("$(printf '%-14s %3dm%02ds  %s' "$1" $(($2 / 60)) $(($2 % 60)) "$verdict")")
}

# stage NAME COMMAND...: runs and times one step of the job.
stage() {
  local name=$1
  shift
  local start=$SECONDS rc=0
  echo "=== ci: ${name}: $*"
  "$@" || rc=$?
  record "$name" $((SECONDS - start)) "$rc"
  return "$rc"
}

# The tests of a tree wait on containers, daemons and emulators for a good part of their time
# and leave about a core idle on a 2-core machine; the next tree is built in that time.
# beside_start PRESET OTHER starts PRESET's build in the background at idle CPU and I/O
# priority (SCHED_IDLE: it runs only when no test process wants the CPU, and a test process
# that wakes preempts it at once, which nice 19 did not do: it made the tests 40% slower), so
# OTHER's tests keep the machine nearly as if it were not there (their timing checks
# included); beside_end waits for it, prints its log and records it as "PRESET build", timed
# from its start to its end, tests included. Returns the build's exit code.
beside_pid=
trap '[[ -n $beside_pid ]] && kill -- -"$beside_pid" 2>/dev/null' EXIT
beside_start() {
  beside_preset=$1
  beside_of=$2
  beside_log=$(mktemp)
  beside_start=$SECONDS
  echo "=== ci: ${beside_preset} build: started beside the tests below (log after them)"
  # In a session of its own, so that a job stopped early ends the whole build (the EXIT trap).
  setsid chrt --idle 0 ionice -c 3 bash -c 'cmake --preset "$1" && cmake --build --preset "$1"' _ \
    "$beside_preset" >"$beside_log" 2>&1 &
  beside_pid=$!
}
beside_end() {
  local rc=0
  wait "$beside_pid" || rc=$?
  beside_pid=
  echo "=== ci: ${beside_preset} build (ran beside the tests above)"
  cat "$beside_log"
  rm -f "$beside_log"
  record "${beside_preset} build" $((SECONDS - beside_start)) "$rc" "beside ${beside_of} tests"
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

# digest BUILD_DIR: each failed test of the tree's last ctest run, with the lines of its output
# that say why (a gtest failure or polyarch's "not passing" list and the lines after it,
# sanitizer reports, errors), at most 16 per test. A test with none was most likely stopped
# by its timeout.
digest() {
  awk -v tree="$1" '
    /^[0-9]+\/[0-9]+ Test: / { name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); n = 0; out = 0; next }
    /^Output:$/ { out = 1; follow = 0; next }
    /^<end of output>$/ { out = 0; next }
    out && /: Failure$/ { follow = 4 }
    out && /^not passing \(/ { follow = 9 }
    out && (follow-- > 0 || /FAILED|[Ee]rror|Sanitizer|SKIPPED|[Tt]imeout/) {
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

# Order: default build; default tests with the tsan tree built beside them; tsan tests; asan
# build; asan tests with the fuzz tree built beside them; fuzz tests. A tree whose build cannot
# go beside tests (the build before failed) is built on its own.
# build_then_test PRESET: PRESET's build on its own, then its tests if it built.
build_then_test() {
  if stage "$1 build" build "$1"; then
    tests "$1" "build-$1"
  fi
}
if stage "default build" build default; then
  # The documented host fixes (docs/host.md, "What polyarch changes on a host"): without them crun
  # refuses a hybrid cgroup layout and its cases could only be skipped. In CI nothing is
  # skipped; the fix is host state, so it holds for the sanitizer builds too.
  stage "doctor --fix" ./build/polyarch doctor --fix
  beside_start tsan default
  tests default build
  if beside_end; then
    tests tsan build-tsan
  fi
else
  build_then_test tsan
fi
if stage "asan build" build asan; then
  beside_start fuzz asan
  tests asan build-asan
  if beside_end; then
    tests fuzz build-fuzz
  fi
else
  build_then_test fuzz
fi

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
