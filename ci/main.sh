#!/usr/bin/env bash
# Installs every dependency, builds, and runs polyarch's main job on its defaults: doctor
# pre-flight, the QEMU emulators registered for every architecture, the images built, private
# containerd and dockerd, the lifecycle and cross-arch suites over every layer x arch, the
# reports, cleanup. Its exit code is the run's. This is the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
cmake --preset default
# Only what the main job runs: the CLI and the probes (the tests and benchmarks are ci/test.sh's).
cmake --build --preset default --target polyarch probes

exec ./build/polyarch run
