#!/usr/bin/env bash
# Installs every dependency, builds, and runs polyarch's main job on its defaults: check the
# host, register the QEMU emulators for every architecture, and show what is registered and
# proven, then build the per-arch images. This is the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
cmake --preset default
cmake --build --preset default

# doctor reports and changes nothing; a failed check is shown but does not stop registration.
./build/polyarch doctor || echo "main: doctor found problems (see above); continuing"
./build/polyarch binfmt install --arch all
./build/polyarch binfmt status
./build/polyarch images build
./build/polyarch images list
