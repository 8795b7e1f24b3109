#!/bin/bash
# ab.sh — A/B on a GPU machine in one device call: run COMMAND on the tree as it is (A), apply
# PATCH (git diff output, paths from the repo root), rebuild the addon and the TypeScript, run
# COMMAND again (B). Output of each run goes to $OUT/ab_A.txt and $OUT/ab_B.txt.
#
#   git diff main my-branch > ab.patch        (here; leave it untracked so it travels)
#   bash bench/native/ab.sh ab.patch "node bench/native/h2d_stall.js && node bench/foundation.js"
#
# Assumes .device/setup ran and the addon was built (CMAKE_CUDA_ARCHITECTURES=90).
set -u
PATCH=$1
CMD=$2
bash -c "$CMD" > $OUT/ab_A.txt 2>&1
# git apply works outside a repository; patch(1) when git is absent.
if command -v git > /dev/null; then git apply "$PATCH" > $OUT/ab_patch.txt 2>&1; else patch -p1 --forward < "$PATCH" > $OUT/ab_patch.txt 2>&1; fi \
  || { echo "ab: patch failed (see ab_patch.txt)"; exit 1; }
CMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-90} node scripts/build-addon.js > $OUT/ab_build.txt 2>&1 || { tail -20 $OUT/ab_build.txt; exit 1; }
npx tsc -p tsconfig.build.json >> $OUT/ab_build.txt 2>&1
bash -c "$CMD" > $OUT/ab_B.txt 2>&1
echo "ab: A and B written to $OUT/ab_A.txt, $OUT/ab_B.txt"
