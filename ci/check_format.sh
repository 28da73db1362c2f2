#!/usr/bin/env bash
# Checks that every C and C++ source file of the checkout is formatted as .clang-format says
# (clang-format from ci/setup.sh). Prints each file that is not and exits 1; `clang-format -i
# FILE` fixes one. ci/test.sh runs it first: a format drift fails CI in seconds.
set -uo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files -- '*.cc' '*.h' '*.c' ':!:fuzz/corpus/*')
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} file(s) are not formatted (clang-format -i FILE):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: all ${#files[@]} files formatted"
