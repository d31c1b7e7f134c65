#!/usr/bin/env bash
# Prints an identity for the code the load benchmark measures at a commit (default: the working tree at HEAD): a hash
# of the git objects of src/, benchmarks/ and the build settings. Two runs with the same identity measured the same
# apps, even when their commits differ (docs, tests, scripts). eng/bench.sh writes it into results.md, and
# eng/bench-pool.sh pools only runs that share it. For the working tree, uncommitted changes in those paths append
# "+uncommitted" (such runs are never pooled with others).
#
#   bash eng/bench-code-id.sh            # the working tree
#   bash eng/bench-code-id.sh 066eb21    # a commit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

paths=(src benchmarks Directory.Build.props global.json nuget.config)
commit="${1:-HEAD}"
git rev-parse --verify --quiet "$commit^{commit}" >/dev/null || { echo "eng/bench-code-id.sh: '$commit' is not a commit here" >&2; exit 1; }
objects=()
for p in "${paths[@]}"; do
  objects+=("$p=$(git rev-parse --verify --quiet "$commit:$p" || echo absent)")
done
id=$(printf '%s\n' "${objects[@]}" | sha1sum | cut -c1-12)
if [[ $# -eq 0 ]] && { ! git diff --quiet HEAD -- "${paths[@]}" || [[ -n "$(git ls-files --others --exclude-standard -- "${paths[@]}")" ]]; }; then
  id+="+uncommitted"
fi
echo "$id"
