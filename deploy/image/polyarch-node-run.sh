#!/bin/sh
# polyarch-node-run REPORT_DIR POLYARCH_RUN_ARGV...
#
# What the Kubernetes manifests in deploy/ run on each node (installed in the image as
# /usr/local/bin/polyarch-node-run):
#   1. a run already finished for REPORT_DIR (its exit-code file exists) is not repeated, so a
#      restarted pod keeps the verdict it had; a new run needs a new RUN_ID;
#   2. `polyarch cleanup --all-stale` removes what a killed earlier run left (binfmt entries,
#      daemons, mounts), from the journal kept in the state directory, a hostPath;
#   3. `polyarch doctor --fix` applies the documented host fixes (docs/host.md);
#   4. POLYARCH_RUN_ARGV (e.g. `polyarch run --strict --report-dir REPORT_DIR`) runs.
# When the run ended with a verdict (exit 0: passed, 1: a case failed) the code is written
# to REPORT_DIR/exit-code and the script exits 0: the report is what the fleet collects and
# `polyarch merge` judges. Any other outcome (2 usage, 3 unusable host, 4 interrupted) is
# written to REPORT_DIR/last-error and is the script's exit code, so that Kubernetes retries.
set -u

if [ $# -lt 2 ]; then
  echo "usage: polyarch-node-run REPORT_DIR POLYARCH_RUN_ARGV..." >&2
  exit 2
fi
report_dir=$1
shift

if [ -f "$report_dir/exit-code" ]; then
  echo "polyarch-node-run: $report_dir already has a verdict (exit $(cat "$report_dir/exit-code")); not running again"
  exit 0
fi
mkdir -p "$report_dir"

polyarch cleanup --all-stale || echo "polyarch-node-run: cleanup --all-stale exited $? (continuing)" >&2
polyarch doctor --fix
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "doctor --fix exit $rc" >"$report_dir/last-error"
  exit "$rc"
fi

"$@"
rc=$?
case $rc in
  0 | 1)
    echo "$rc" >"$report_dir/exit-code.tmp" && mv "$report_dir/exit-code.tmp" "$report_dir/exit-code"
    rm -f "$report_dir/last-error"
    echo "polyarch-node-run: run finished with exit $rc; report in $report_dir"
    exit 0
    ;;
  *)
    echo "run exit $rc" >"$report_dir/last-error"
    exit "$rc"
    ;;
esac
