#!/usr/bin/env bash
# The deployment image test (ctest: deploy_image, labels privileged;deploy).
#
# Builds the image with deploy/image/build.sh, loads it into a podman whose storage, run root,
# configuration, events and networks are private to this test (under a temporary directory:
# the host's podman storage is never touched), and runs it with the privileges the manifests
# grant the run: --privileged, /sys/fs/cgroup of the host, the state directory and the report
# directory as host paths (here temporary directories), no host PID namespace; network "none"
# (the manifests' hostNetwork only serves scheduling, see docs/fleet.md). Inside it runs:
#   1. `polyarch doctor`, which must exit 0 (warnings allowed);
#   2. polyarch-node-run, the manifests' entry point, with a short run (runc, amd64 and s390x,
#      lifecycle suite, 2 jobs, --strict): its exit-code file must say 0, its report.json must
#      be complete with cases passed and none failed, errored or aborted;
#   3. polyarch-node-run again for the same report directory: it must not run again.
# The image is also built a second time, which must give the same archive digest.
# Afterwards the host must have the binfmt_misc entries and mounts it had before, and
# everything the test created (container, image, storage, directories) is removed.
# Exit 0 pass, 1 fail, 77 skipped (not root, or podman missing; a failure unless skips are
# allowed, see tests/CMakeLists.txt).
#
# Usage: deploy/tests/image_test.sh BUILD_DIR
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_dir=${1:-$repo/build}
started=$SECONDS

say() { printf 'image_test: %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || { say "SKIPPED: needs root"; exit 77; }
command -v podman >/dev/null || { say "SKIPPED: podman is not installed"; exit 77; }

binfmt_before=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null | sort)
mounts_before=$(awk '{ print $5 }' /proc/self/mountinfo | sort)
blob_cache_existed=0
[[ -e /var/lib/containers ]] && blob_cache_existed=1

tmp=$(mktemp -d /var/tmp/polyarch-deploy-test.XXXXXX)
# podman refuses a long run root; a short one of its own under /run.
runroot=$(mktemp -d /run/pdt.XXXXXX)
name=polyarch-deploy-test-$$
mkdir -p "$tmp"/{graph,net,tmp,state,reports,conf}
cat >"$tmp/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$tmp/graph"
runroot = "$runroot"
EOF
cat >"$tmp/conf/containers.conf" <<EOF
[containers]
netns = "none"
[network]
network_config_dir = "$tmp/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
tmp_dir = "$tmp/tmp"
EOF
printf 'unqualified-search-registries = []\n' >"$tmp/conf/registries.conf"
export CONTAINERS_STORAGE_CONF=$tmp/conf/storage.conf CONTAINERS_CONF=$tmp/conf/containers.conf
export CONTAINERS_REGISTRIES_CONF=$tmp/conf/registries.conf
pm=(podman --root "$tmp/graph" --runroot "$runroot" --cgroup-manager cgroupfs
  --events-backend none --tmpdir "$tmp/tmp")

cleanup() {
  "${pm[@]}" rm -f -t 5 "$name" >/dev/null 2>&1
  "${pm[@]}" rmi -a -f >/dev/null 2>&1
  "${pm[@]}" system reset -f >/dev/null 2>&1
  # Whatever podman left mounted under the test's directories, innermost first.
  awk -v a="$tmp" -v b="$runroot" 'index($5, a) == 1 || index($5, b) == 1 { print $5 }' \
    /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$tmp" "$runroot"
  if [[ $blob_cache_existed == 0 && -d /var/lib/containers ]]; then
    rm -rf /var/lib/containers
  fi
}
trap cleanup EXIT

# 1. The image.
t=$SECONDS
bash "$repo/deploy/image/build.sh" --build-dir "$build_dir" --out "$tmp/polyarch-image.tar" ||
  fail "deploy/image/build.sh exited $?"
build_s=$((SECONDS - t))
# Reproducible: a second build from the same inputs gives the same archive, byte for byte.
t=$SECONDS
bash "$repo/deploy/image/build.sh" --build-dir "$build_dir" --out "$tmp/again/polyarch-image.tar" \
  2>/dev/null || fail "the second deploy/image/build.sh exited $?"
[[ $(cut -d' ' -f1 "$tmp/polyarch-image.tar.sha256") == $(cut -d' ' -f1 "$tmp/again/polyarch-image.tar.sha256") ]] ||
  fail "two builds from the same inputs differ: $(cat "$tmp/polyarch-image.tar.sha256" "$tmp/again/polyarch-image.tar.sha256")"
rm -rf "$tmp/again"
say "a second build gave the same archive digest ($((SECONDS - t))s)"
t=$SECONDS
"${pm[@]}" load -q -i "$tmp/polyarch-image.tar" || fail "podman load exited $?"
image=$("${pm[@]}" images -q --no-trunc | head -n 1)
[[ -n $image ]] || fail "no image in the private storage after podman load"
load_s=$((SECONDS - t))
say "image built in ${build_s}s, loaded in ${load_s}s: $image"

node=image-test-node
run_id=t$$
report=/reports/$node/$run_id
# The privileges of the manifests' run container (deploy/daemonset.yaml, indexed-job.yaml).
# Limits the container can be given as they are: podman would ask for more open files than
# this process's hard limit, which fails where root lacks CAP_SYS_RESOURCE (a host that is
# itself a container), and it lowers its own process limit to 32768 as it starts.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
[[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
prun=("${pm[@]}" run --rm --name "$name" --privileged --network none
  --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc"
  -v /sys/fs/cgroup:/sys/fs/cgroup -v "$tmp/state:/var/lib/polyarch" -v "$tmp/reports:/reports"
  -e "NODE_NAME=$node" -e "RUN_ID=$run_id" "$image")

# 2. doctor.
t=$SECONDS
"${prun[@]}" polyarch doctor
rc=$?
[[ $rc -eq 0 ]] || fail "polyarch doctor in the image exited $rc"
say "doctor in the image: exit 0 ($((SECONDS - t))s)"

# 3. A short run through the manifests' entry point. --node only where this polyarch has it.
node_flag=()
if "${prun[@]}" polyarch run --help 2>/dev/null | grep -q -- '--node'; then
  node_flag=(--node "$node")
else
  say "note: this polyarch has no 'run --node' yet; the report records the container's host name"
fi
t=$SECONDS
"${prun[@]}" polyarch-node-run "$report" polyarch run --strict "${node_flag[@]}" \
  --report-dir "$report" --layer runc --arch amd64,s390x --suite lifecycle --jobs 2
rc=$?
run_s=$((SECONDS - t))
[[ $rc -eq 0 ]] || fail "polyarch-node-run exited $rc (last-error: $(cat "$tmp/reports/$node/$run_id/last-error" 2>/dev/null))"
host_report=$tmp/reports/$node/$run_id
[[ -f $host_report/exit-code ]] || fail "no exit-code file in the report directory"
[[ $(cat "$host_report/exit-code") == 0 ]] || fail "the run's exit code was $(cat "$host_report/exit-code")"
python3 - "$host_report/report.json" "${node_flag[1]:-}" <<'PY' || fail "report.json does not show a clean run"
import json, sys
r = json.load(open(sys.argv[1]))
if sys.argv[2]:
    node = r.get("context", {}).get("host", {}).get("node")
    assert node == sys.argv[2], "the report names node %r, not %r" % (node, sys.argv[2])
s = r["summary"]
print("image_test: report summary:", json.dumps(s, sort_keys=True))
assert r.get("complete") is True, "report marked incomplete: %s" % r.get("incomplete_reason")
assert s["pass"] > 0, "no case passed"
for k in ("fail", "error", "aborted"):
    assert s.get(k, 0) == 0, "%d case(s) %s" % (s[k], k)
arches = {c.get("arch") for c in r["cases"]}
assert {"amd64", "s390x"} <= arches, "arches in the report: %s" % sorted(a for a in arches if a)
PY
say "run in the image: exit 0, report checked (${run_s}s)"

# 4. A restarted pod does not repeat a finished run.
out=$("${prun[@]}" polyarch-node-run "$report" false 2>&1)
rc=$?
[[ $rc -eq 0 && $out == *"already has a verdict"* ]] ||
  fail "a second polyarch-node-run for the same report directory ran again (exit $rc): $out"

# 5. The host is as it was: binfmt entries (polyarch's run removes its own) and mounts.
binfmt_after=$(ls /proc/sys/fs/binfmt_misc 2>/dev/null | sort)
if [[ $binfmt_after != "$binfmt_before" ]]; then
  # Remove what the journal in the test's state directory says the run registered.
  "$build_dir/polyarch" --state-dir "$tmp/state" cleanup --all-stale >/dev/null 2>&1
  fail "binfmt_misc entries changed: $(diff <(echo "$binfmt_before") <(echo "$binfmt_after") | grep '^[<>]' | tr '\n' ' ')"
fi
"${pm[@]}" rmi -a -f >/dev/null 2>&1
"${pm[@]}" system reset -f >/dev/null 2>&1
leaked=$(comm -13 <(echo "$mounts_before") <(awk '{ print $5 }' /proc/self/mountinfo | sort) |
  grep -v -e "^$tmp" -e "^$runroot" || true)
[[ -z $leaked ]] || fail "mounts left on the host: $leaked"

say "PASS in $((SECONDS - started))s (build ${build_s}s, load ${load_s}s, run ${run_s}s)"
