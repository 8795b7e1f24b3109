#!/usr/bin/env bash
# One GPU call for the task models, trainer, analysis and reliability work: CUDA build, the
# PyTorch/torchaudio parity fixtures (copied back as a tarball), the GPU jest suite (without the
# CPU-only reproduce/install/fuzz files and the long MI sweep), and the models/hubert benchmarks.
#   OUT=... [MS_FIXTURES=1] [MS_BENCH=1] [JEST_LIMIT=s] [JEST_PATHS="test/x test/y"] bash scripts/device-session.sh
set -uo pipefail
source scripts/device-lib.sh
OUT=${OUT:-/tmp/ms-out}
mkdir -p "$OUT"
t0=$(date +%s)
dev_setup "$OUT" || exit 1
if [ "${MS_FIXTURES:-0}" = "1" ]; then
(python3 scripts/fixtures/models_parity.py --out test/fixtures/models && python3 scripts/fixtures/hubert_parity.py --out test/fixtures/hubert) >"$OUT/fixtures.log" 2>&1 || tail -20 "$OUT/fixtures.log"
tar czf "$OUT/fixtures.tgz" test/fixtures/models test/fixtures/hubert 2>/dev/null
echo "fixtures done at $(( $(date +%s) - t0 )) s"
fi
MAMBA_SPEECH_REQUIRE_GPU=1 timeout ${JEST_LIMIT:-330} node --expose-gc node_modules/jest/bin/jest.js --ci -w 8 \
  --testPathIgnorePatterns test/install test/reproduce test/mi/sweep test/reliability/fuzz \
  --json --outputFile="$OUT/jest-gpu.json" ${JEST_PATHS:-} >"$OUT/test-gpu.log" 2>&1
echo "jest rc $? at $(( $(date +%s) - t0 )) s"
node scripts/ci-summary.js "$OUT/jest-gpu.json" | tail -3
grep -E '✕' "$OUT/test-gpu.log" | head -40
if [ "${MS_BENCH:-0}" = "1" ]; then
  timeout 90 node bench/models.js --device cuda --paper >"$OUT/bench-models.log" 2>&1; tail -12 "$OUT/bench-models.log"
fi
echo "total $(( $(date +%s) - t0 )) s"
