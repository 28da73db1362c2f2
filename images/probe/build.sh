#!/usr/bin/env bash
# Builds the static probe: OUTDIR/<arch>/probe for each requested polyarch architecture
# (default: all). An architecture whose cross compiler is missing is skipped with a
# message; the script then exits 1 so a partial set is never mistaken for a full one.
set -euo pipefail

readonly ALL_ARCHES=(amd64 arm aarch64 mips mipsel mips64el ppc64le s390x riscv64)
declare -A COMPILER=(
  [amd64]=x86_64-linux-gnu-gcc
  [arm]=arm-linux-gnueabihf-gcc
  [aarch64]=aarch64-linux-gnu-gcc
  [mips]=mips-linux-gnu-gcc
  [mipsel]=mipsel-linux-gnu-gcc
  [mips64el]=mips64el-linux-gnuabi64-gcc
  [ppc64le]=powerpc64le-linux-gnu-gcc
  [s390x]=s390x-linux-gnu-gcc
  [riscv64]=riscv64-linux-gnu-gcc
)
# On an amd64 host the native gcc is the amd64 compiler even where the triplet-named
# link is absent; elsewhere plain gcc would build for the wrong architecture.
if [[ $(uname -m) == x86_64 ]]; then COMPILER[amd64]=gcc; fi

# -ffp-contract=off: a fused multiply-add rounds once instead of twice, and only some
# targets have one, so contraction would make float_checksum differ between arches.
# -D_FILE_OFFSET_BITS=64: 64-bit file sizes, inode numbers and resource limits on the
# 32-bit arches too (`check` reports limits of 2^32 and more, and stats large inodes).
readonly CFLAGS=(-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -static -pthread -Wall
  -Wextra -Werror -ffp-contract=off)

if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTDIR [ARCH...]  (arches: ${ALL_ARCHES[*]})" >&2
  exit 2
fi
outdir=$1
shift
arches=("$@")
if [[ ${#arches[@]} -eq 0 ]]; then arches=("${ALL_ARCHES[@]}"); fi
for arch in "${arches[@]}"; do
  if [[ -z ${COMPILER[$arch]+set} ]]; then
    echo "build.sh: unknown arch '$arch' (known: ${ALL_ARCHES[*]})" >&2
    exit 2
  fi
done

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/probe.c
failed=0
for arch in "${arches[@]}"; do
  cc=${COMPILER[$arch]}
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build.sh: skipping $arch: compiler $cc not found" >&2
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$outdir/$arch"
  # Build beside the target and rename; on failure remove the old probe too, so what is
  # left in OUTDIR is always the product of this source.
  if "$cc" "${CFLAGS[@]}" -o "$outdir/$arch/probe.tmp" "$src" -lm; then
    mv -f "$outdir/$arch/probe.tmp" "$outdir/$arch/probe"
    echo "built $outdir/$arch/probe" >&2
  else
    rm -f "$outdir/$arch/probe.tmp" "$outdir/$arch/probe"
    echo "build.sh: $arch: $cc failed" >&2
    failed=$((failed + 1))
  fi
done

if [[ $failed -ne 0 ]]; then
  echo "build.sh: $failed of ${#arches[@]} arch(es) not built" >&2
  exit 1
fi
