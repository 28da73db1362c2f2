#!/usr/bin/env bash
# Installs every dependency, builds, and runs the whole test suite: unit tests and the
# integration tests that drive the real kernel and stack (ctest labels: unit, privileged,
# emulated, bench). This is the README's test command and all that .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
cmake --preset default
cmake --build --preset default

# The documented host fixes (README, "What polyarch changes on a host"): without them crun
# refuses a hybrid cgroup layout and its cases could only be skipped. In CI nothing is skipped.
./build/polyarch doctor --fix

ctest --preset default
