#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Adds up the per-binary lines that tests/common/test_main.cpp appends to EDGECLOUD_TEST_LEDGER
# (binary, ran, passed, skipped, failed, skipped names; tab-separated) and prints how many test
# cases ran, passed, were skipped and failed over a whole run, naming every skipped case and the
# allow-list (EDGECLOUD_ALLOWED_SKIPS) it was judged against. Exits 1 when any case failed or a
# binary was expected but wrote no line (it crashed before the end, or is not a GoogleTest).
# Usage: scripts/test-summary.sh LEDGER [EXPECTED_BINARIES...]
set -euo pipefail
ledger=${1:?usage: scripts/test-summary.sh LEDGER [EXPECTED_BINARIES...]}
shift
[ -f "$ledger" ] || { echo "test-summary: no ledger $ledger (no test binary ran)"; exit 1; }
status=0
for b in "$@"; do
  if ! cut -f1 "$ledger" | grep -qx -- "$b"; then
    echo "test-summary: $b wrote no accounting line (crashed, or did not run)"
    status=1
  fi
done
awk -F'\t' -v allowed="${EDGECLOUD_ALLOWED_SKIPS:-}" '
  { bins++; ran += $2; passed += $3; skipped += $4; failed += $5
    if ($4 > 0) { n = split($6, names, ","); for (i = 1; i <= n; i++) list = list "\n  skipped: " names[i] " (" $1 ")" }
    if ($5 > 0) bad = bad "\n  failures in: " $1 }
  END {
    printf "== test cases: %d ran, %d passed, %d skipped, %d failed (%d binaries)\n", ran, passed, skipped, failed, bins
    printf "   allow-listed skips: %s", (allowed == "" ? "none" : allowed)
    printf "%s%s\n", list, bad
    exit failed > 0 }' "$ledger" || status=1
exit $status
