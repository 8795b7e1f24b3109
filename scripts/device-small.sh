#!/usr/bin/env bash
# The `small` preset on the GPU (#16: one GPU, <= 30 minutes), across back-to-back device calls:
# each call runs `reproduce --preset small` for at most LIMIT seconds (SIGTERM at the end: the
# trainer saves `last`, and the next call continues the run from its folder, runs/small, which an
# ignored path keeps on a warm machine). The run's log, report and plots come back in
# $OUT/all.tgz after every call; "done" in the output means the report is written.
#   run (repeat until done, each within ~30 s of the last): LIMIT=540 bash scripts/device-small.sh
#   carry [".device"] (and ["runs/small"] if the machine went cold between calls and a copy of the
#   run folder was fetched back into runs/small: the stages resume from it)
set -uo pipefail
source scripts/device-lib.sh
OUT0=${OUT:-/tmp/ms-out}; W=/tmp/w-small; t0=$(date +%s)
mkdir -p "$W" "$OUT0"; export PATH=$PWD/node_modules/.bin:$PATH
dev_ready "$W" || { dev_snap "$OUT0" "$W"; exit 1; }
left=$(( ${LIMIT:-540} - ($(date +%s) - t0) ))
echo "reproduce small for at most $left s (setup took $(( $(date +%s) - t0 )) s)"
timeout -s TERM -k 30 "$left" node bin/mamba-speech.js reproduce --preset small --device cuda --out runs/small >>"$W/small.log" 2>&1
rc=$?
echo "reproduce rc $rc"; tail -25 "$W/small.log"
[ -f runs/small/report.md ] && echo "done: runs/small/report.md"
rm -rf "$W/run"; mkdir -p "$W/run"
(cd runs/small 2>/dev/null && cp -r report.md report.json *.png *.svg "$W/run/" 2>/dev/null; true)
tar czf "$W/run-state.tgz" --exclude='*.safetensors' -C runs small 2>/dev/null || true
dev_snap "$OUT0" "$W"
echo "total $(( $(date +%s) - t0 )) s"
