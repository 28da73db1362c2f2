#!/usr/bin/env bash
# Installs everything polyarch needs to build, test and run on Debian 12, as root.
# Idempotent: a second run installs nothing new and re-downloads nothing cached.
#
# What it changes on the host (and nothing else):
#   - Debian packages listed below (apt-get install);
#   - nothing else at install time; the builds then keep ccache's compiler cache in
#     /var/cache/polyarch/ccache (CMakeLists.txt, POLYARCH_CCACHE_DIR);
#   - foreign-architecture busybox-static .debs fetched into $POLYARCH_CACHE/debs through a
#     private apt state (the host's dpkg architectures and apt lists are not modified);
#   - Debian's python3-kubernetes $K8S_API_DEB_VERSION unpacked (not installed) into
#     $POLYARCH_CACHE/k8s-api/: the Kubernetes API schema the manifests' test reads offline
#     (deploy/tests/validate_manifests.py).
# Daemons are never started by package installation: a temporary policy-rc.d blocks it when
# the host has none, because a system dockerd would create the default 172.17/16 bridge.
set -euo pipefail

CACHE=${POLYARCH_CACHE:-/var/cache/polyarch}
FOREIGN_ARCHES=(armhf arm64 mipsel mips64el ppc64el s390x)
# Pinned: deploy/tests/validate_manifests.py names the same version (Kubernetes API 1.22).
K8S_API_DEB_VERSION=22.6.0-2

log() { printf 'setup: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  echo "setup: must run as root (it installs Debian packages)" >&2
  exit 3
fi
if ! grep -q 'VERSION_ID="12"' /etc/os-release 2>/dev/null; then
  log "warning: written for Debian 12; continuing anyway"
fi

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang-format ccache
  libboost1.81-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libbenchmark-dev libarchive-dev libssl-dev libyaml-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  golang-github-containerd-containerd-dev
  # fuzzing and sanitizers
  clang libclang-rt-14-dev
  # the stack under test
  qemu-user-static runc crun containerd docker.io podman busybox-static
  # report validation in tests; the Kubernetes manifests' schema test (deploy/tests)
  python3 python3-jsonschema python3-lxml python3-yaml
  # the deployment image (deploy/image/build.sh bootstraps its root file system)
  mmdebstrap
  # cross compilers for the probe
  gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu gcc-mipsel-linux-gnu gcc-mips-linux-gnu
  gcc-mips64el-linux-gnuabi64 gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu
  gcc-riscv64-linux-gnu
  libc6-dev-armhf-cross libc6-dev-arm64-cross libc6-dev-mips-cross libc6-dev-mipsel-cross
  libc6-dev-mips64el-cross libc6-dev-ppc64el-cross libc6-dev-s390x-cross libc6-dev-riscv64-cross
  # tools the suites and tests call
  iproute2 procps util-linux file xz-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[[ $made_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || log "apt-get update reported an error; trying the install anyway"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "all ${#PACKAGES[@]} packages already installed"
fi

# Foreign busybox-static packages, through a private apt state so the host's own apt
# configuration is untouched. A failed index for one arch is not fatal: the download decides.
mkdir -p "$CACHE/debs" "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial"
need=()
for a in "${FOREIGN_ARCHES[@]}"; do
  compgen -G "$CACHE/debs/busybox-static_*_${a}.deb" >/dev/null || need+=("$a")
done
if ((${#need[@]})); then
  arches=$(IFS=,; echo "amd64,${need[*]}")
  apt_opts=(-o "APT::Architectures=$arches" -o "APT::Sandbox::User=root" -o "Dir::State::Lists=$CACHE/apt/lists"
            -o "Dir::Cache::Archives=$CACHE/apt/archives" -o "Debug::NoLocking=1")
  log "fetching busybox-static for: ${need[*]}"
  apt-get "${apt_opts[@]}" update -qq || log "apt-get update (foreign) reported an error; judging by the download"
  for a in "${need[@]}"; do
    (cd "$CACHE/debs" && apt-get "${apt_opts[@]}" download -qq "busybox-static:$a") ||
      log "warning: could not fetch busybox-static:$a; that image will carry the probe only"
  done
fi
# The native busybox comes from the installed package's own .deb, kept beside the others so
# every arch is read the same way.
if ! compgen -G "$CACHE/debs/busybox-static_*_amd64.deb" >/dev/null; then
  (cd "$CACHE/debs" && apt-get -o APT::Sandbox::User=root download -qq busybox-static)
fi
log "busybox .debs in $CACHE/debs: $(ls "$CACHE/debs" | tr '\n' ' ')"

# The Kubernetes API schema for the manifests' test: Debian's Kubernetes API client, whose
# generated model classes state every field's name, type and whether it is required. Only
# unpacked, so none of its run-time dependencies is installed.
k8s_dir=$CACHE/k8s-api/python3-kubernetes_$K8S_API_DEB_VERSION
if [[ ! -d $k8s_dir/usr/lib/python3/dist-packages/kubernetes/client/models ]]; then
  log "unpacking python3-kubernetes $K8S_API_DEB_VERSION into $k8s_dir"
  k8s_tmp=$(mktemp -d "$CACHE/k8s-api.XXXXXX")
  (cd "$k8s_tmp" && apt-get -o APT::Sandbox::User=root download -qq "python3-kubernetes=$K8S_API_DEB_VERSION")
  mkdir -p "$CACHE/k8s-api"
  rm -rf "$k8s_dir.part"
  dpkg-deb -x "$k8s_tmp"/python3-kubernetes_*.deb "$k8s_dir.part"
  mv "$k8s_dir.part" "$k8s_dir"
  rm -rf "$k8s_tmp"
fi
log "done"
