#!/usr/bin/env bash
# Installs every dependency, builds, applies the documented host fixes, and runs polyarch's
# main job on its defaults: doctor pre-flight, the QEMU emulators registered for every
# architecture, the images built, private containerd and dockerd, the lifecycle and cross-arch
# suites over every layer x arch, the reports, cleanup. Its exit code is the run's. This is the
# README's first command.
#
# The host fixes are `polyarch doctor --fix`, as ci/test.sh applies them (docs/host.md, "What
# polyarch changes on a host"): binfmt_misc mounted when it is not, and on a hybrid cgroup
# layout whose v2 hierarchy holds a controller crun refuses, that controller's v1 hierarchy
# mounted. It prints what it changed. POLYARCH_NO_HOST_FIX=1 leaves the host as it is; crun's
# cases are then skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
cmake --preset default
# Only what the main job runs: the CLI and the probes (the tests and benchmarks are ci/test.sh's).
cmake --build --preset default --target polyarch probes

if [[ ${POLYARCH_NO_HOST_FIX:-0} != 1 ]]; then
  # A check doctor still fails after its fixes is recorded again by the run's own pre-flight;
  # the run decides the exit code.
  ./build/polyarch doctor --fix --no-runtime-probe ||
    echo "main.sh: doctor --fix left a failing check; the run's pre-flight records it" >&2
fi

exec ./build/polyarch run
