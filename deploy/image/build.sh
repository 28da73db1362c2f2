#!/usr/bin/env bash
# Builds the container image that the Kubernetes manifests in deploy/ run (polyarch:local),
# from Debian 12 packages and the built polyarch, without any container registry:
#
#   1. base root file system: `mmdebstrap --variant=minbase` of bookworm with the packages of
#      deploy/image/packages.txt plus the Debian packages of the shared libraries the built
#      polyarch links (found with ldd and dpkg -S), from the Debian mirrors of the host's own
#      apt sources. Cached in $POLYARCH_CACHE/image/base-<key>.tar, keyed by the sorted package
#      list, the mirrors, the architecture, the mmdebstrap version and SOURCE_DATE_EPOCH, so a
#      rerun only repacks (seconds) instead of bootstrapping (minutes);
#   2. polyarch on top: the binary in /opt/polyarch/bin with the probes beside it (it looks
#      for <dir of the binary>/probe/<arch>/probe), /usr/local/bin/polyarch and
#      /usr/local/bin/polyarch-node-run (the manifests' entry point), the busybox-static .debs
#      the per-arch test images are built from in /var/cache/polyarch/debs (ci/setup.sh fetched
#      them), and /etc/polyarch-image.json saying what went in;
#   3. one layer tar, reproducible: names sorted, every mtime SOURCE_DATE_EPOCH, numeric
#      owners as installed, no atime/ctime;
#   4. an image archive (oci_archive.py) that is both an OCI image layout and a
#      docker-archive, so `podman load`, `docker load` and `ctr images import` all take it;
#   5. optionally loaded into local engines (--load podman, --load docker).
#
# Same package versions + same polyarch build + same SOURCE_DATE_EPOCH give the same layer and
# archive digests (printed at the end and written next to the archive as .sha256).
#
# Usage: deploy/image/build.sh [--build-dir DIR] [--out FILE] [--tag NAME]
#                              [--load podman|docker]... [--docker-host unix:///PATH]
#                              [--podman-arg ARG]... [--rebuild-base]
# Needs root (mmdebstrap in root mode, file owners kept). Exit 0 built, 2 usage, 3 missing input.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${POLYARCH_CACHE:-/var/cache/polyarch}
# A fixed default (2024-01-01T00:00:00Z) so that the digest depends on the inputs only.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}

build_dir=$repo/build
out=
tag=polyarch:local
loads=()
docker_host=
podman_args=()
rebuild_base=0

die() { printf 'build.sh: %s\n' "$2" >&2; exit "$1"; }
log() { printf 'build.sh: %s\n' "$*" >&2; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --load) loads+=("$2"); shift 2 ;;
    --docker-host) docker_host=$2; shift 2 ;;
    --podman-arg) podman_args+=("$2"); shift 2 ;;
    --rebuild-base) rebuild_base=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    *) die 2 "unknown argument: $1" ;;
  esac
done
for l in "${loads[@]}"; do
  [[ $l == podman || $l == docker ]] || die 2 "--load takes podman or docker, not '$l'"
done
[[ $(id -u) -eq 0 ]] || die 3 "must run as root (mmdebstrap in root mode keeps file owners)"
command -v mmdebstrap >/dev/null || die 3 "mmdebstrap is missing (ci/setup.sh installs it)"

polyarch_bin=$build_dir/polyarch
[[ -x $polyarch_bin ]] || die 3 "no built polyarch at $polyarch_bin (cmake --build --preset default)"
probe_arches=()
for p in "$build_dir"/probe/*/probe; do
  [[ -f $p ]] && probe_arches+=("$(basename "$(dirname "$p")")")
done
[[ ${#probe_arches[@]} -gt 0 ]] || die 3 "no probes under $build_dir/probe (the probes target builds them)"
compgen -G "$CACHE/debs/busybox-static_*.deb" >/dev/null ||
  die 3 "no busybox-static .debs in $CACHE/debs (ci/setup.sh fetches them)"
out=${out:-$build_dir/deploy/polyarch-image.tar}
mkdir -p "$(dirname "$out")"

arch=$(dpkg --print-architecture)

# A snapshot of the binary, so that everything below (its libraries, its digest, the copy in
# the image) reads one and the same file even if the tree is rebuilt meanwhile.
snap=$(mktemp -d "${TMPDIR:-/var/tmp}/polyarch-image-bin.XXXXXX")
trap 'rm -rf "$snap"' EXIT
cp "$polyarch_bin" "$snap/polyarch"
polyarch_bin=$snap/polyarch

# The package list: packages.txt and the packages of polyarch's shared libraries.
mapfile -t packages < <(
  {
    sed 's/#.*//' "$here/packages.txt" | tr -s ' \t' '\n'
    ldd "$polyarch_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | xargs -r readlink -f |
      xargs -r dpkg -S 2>/dev/null | cut -d: -f1
  } | sed '/^$/d' | sort -u
)

# The Debian mirrors of the host's apt sources (bookworm suites, type deb), one-line style.
mirrors=$(python3 - <<'PY'
import glob, re
lines = []
def add(uri, suites, comps):
    for s in suites:
        if s.startswith("bookworm") and not uri.startswith(("file:", "cdrom:")):
            lines.append("deb %s %s %s" % (uri, s, " ".join(comps)))
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        for uri in fields.get("uris", "").split():
            add(uri, fields.get("suites", "").split(), fields.get("components", "main").split())
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        text = open(path).read()
    except OSError:
        continue
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            add(words[1], [words[2]], words[3:] or ["main"])
print("\n".join(dict.fromkeys(lines)))
PY
)
[[ -n $mirrors ]] || die 3 "no bookworm 'deb' source in the host's apt sources"

# Documentation, manual pages and translations are left out (copyright files kept), and so
# are the QEMU emulators of architectures polyarch does not test (about 250 MB).
dpkg_opts=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/locale/*'
  'path-exclude=/usr/share/info/*' 'path-exclude=/usr/bin/qemu-*-static'
)
for q in arm aarch64 mips mipsel mips64 mips64el ppc64le s390x riscv64; do
  dpkg_opts+=("path-include=/usr/bin/qemu-$q-static")
done

key=$(printf '%s\n' "variant=minbase" "arch=$arch" "epoch=$SOURCE_DATE_EPOCH" \
  "mmdebstrap=$(mmdebstrap --version)" "$mirrors" "${dpkg_opts[@]}" "${packages[@]}" |
  sha256sum | cut -c1-16)
base_dir=$CACHE/image
base=$base_dir/base-$key.tar
mkdir -p "$base_dir"
# One build at a time per cache: a second one waits, then finds the base made.
exec 9>"$base_dir/.lock"
flock 9

if [[ $rebuild_base == 1 || ! -s $base ]]; then
  log "bootstrapping the base root file system (key $key): ${#packages[@]} packages"
  mapfile -t mirror_lines <<<"$mirrors"
  start=$SECONDS
  rm -f "$base.part"
  mmdebstrap --variant=minbase --mode=root --format=tar --architectures="$arch" \
    --include="$(IFS=,; echo "${packages[*]}")" "${dpkg_opts[@]/#/--dpkgopt=}" \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"' \
    --quiet bookworm "$base.part" "${mirror_lines[@]}"
  mv "$base.part" "$base"
  log "base built in $((SECONDS - start)) s: $base ($(du -h "$base" | cut -f1))"
  # Older bases are superseded by this one.
  find "$base_dir" -maxdepth 1 -name 'base-*.tar' ! -name "base-$key.tar" -delete
else
  log "base root file system cached: $base"
fi

work=$(mktemp -d "$base_dir/work.XXXXXX")
trap 'rm -rf "$work" "$snap"' EXIT
root=$work/rootfs
mkdir -p "$root"
tar -xpf "$base" --numeric-owner --xattrs --xattrs-include='*' -C "$root"

# The package versions that went in, for /etc/polyarch-image.json and the docs.
versions=$(awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Status: .* installed$/{ok=1}
                /^$/{ if (ok) print p "=" v; ok=0 } END { if (ok) print p "=" v }' \
             "$root/var/lib/dpkg/status" | sort)

install -d -m 0755 "$root/opt/polyarch/bin" "$root/var/cache/polyarch/debs" "$root/var/lib/polyarch"
# Without its debug information (deterministic; /etc/polyarch-image.json keeps the digest of
# the binary as built): about a fifth of the size.
objcopy --strip-debug "$polyarch_bin" "$root/opt/polyarch/bin/polyarch"
chmod 0755 "$root/opt/polyarch/bin/polyarch"
for a in "${probe_arches[@]}"; do
  install -D -m 0755 "$build_dir/probe/$a/probe" "$root/opt/polyarch/bin/probe/$a/probe"
done
ln -sfn /opt/polyarch/bin/polyarch "$root/usr/local/bin/polyarch"
install -m 0755 "$here/polyarch-node-run.sh" "$root/usr/local/bin/polyarch-node-run"
install -m 0644 "$CACHE"/debs/busybox-static_*.deb "$root/var/cache/polyarch/debs/"
python3 - "$root/etc/polyarch-image.json" "$key" "$SOURCE_DATE_EPOCH" \
  "$(sha256sum "$polyarch_bin" | cut -d' ' -f1)" "$versions" <<'PY'
import json, sys
path, key, epoch, binary, versions = sys.argv[1:]
doc = {
    "base_key": key,
    "source_date_epoch": int(epoch),
    "polyarch_sha256": binary,
    "packages": dict(v.split("=", 1) for v in versions.splitlines() if v),
}
with open(path, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write("\n")
PY

# Every file gets the one mtime; directories too, after everything was written.
layer=$work/layer.tar
tar --sort=name --format=posix \
  --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
  --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --xattrs --xattrs-include='*' \
  -C "$root" -cf "$layer" .

python3 "$here/oci_archive.py" --layer "$layer" --out "$out.part" --tag "$tag" \
  --arch "$arch" --epoch "$SOURCE_DATE_EPOCH" >"$work/ids"
mv "$out.part" "$out"
sha256sum "$out" | sed "s|  .*|  $(basename "$out")|" >"$out.sha256"
log "image $tag: $out ($(du -h "$out" | cut -f1))"
log "$(cat "$work/ids")"
log "archive sha256 $(cut -d' ' -f1 "$out.sha256")"

for l in "${loads[@]}"; do
  case $l in
    podman) podman "${podman_args[@]}" load -i "$out" ;;
    docker) docker ${docker_host:+-H "$docker_host"} load -i "$out" ;;
  esac
done
