#!/usr/bin/env node
// Prints the closing line CI reads, "N passed, N failed", from jest's --json output. A suite
// that failed to run (syntax error, failed import) counts as a failure even though it has no
// tests, and a missing results file (the run never got to jest) counts as one failure.
'use strict';
const fs = require('fs');
const file = process.argv[2];
let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  for (const s of r.testResults || []) {
    const ran = (s.assertionResults || []).length;
    if (s.status === 'failed' && ran === 0) failed += 1;
  }
  if (r.numRuntimeErrorTestSuites && failed === 0) failed += r.numRuntimeErrorTestSuites;
} catch (e) {
  console.error(`[ci-summary] no jest results in ${file}: ${e.message}`);
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
