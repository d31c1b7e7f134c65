#!/usr/bin/env bash
# The one test command, for a newcomer on a fresh machine and for CI alike:
#
#   bash eng/test.sh                      # everything
#   bash eng/test.sh --filter Postgres    # extra arguments go to every `dotnet test`
#
# 1. Makes sure the server binaries the integration tests drive are installed (PostgreSQL, Redis,
#    Prometheus/promtool, Alertmanager/amtool, jq, wrk), installing the Debian packages if not.
#    The servers themselves are started and stopped by the xunit fixtures, on free loopback ports.
# 2. Builds the solution in Release (warnings are errors).
# 3. Runs both test projects (the second even if the first fails), each with a hang guard.
# 4. Prints `tests: N passed, N failed` and exits non-zero if anything failed or nothing ran.
#
# Tunables (environment): TEST_HANG_TIMEOUT (per test, default 10m), TEST_PROJECT_TIMEOUT (per
# project wall clock, default 30m) — both exist so a hang fails fast instead of eating CI's budget.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

hang_timeout="${TEST_HANG_TIMEOUT:-10m}"
project_timeout="${TEST_PROJECT_TIMEOUT:-30m}"
test_projects=(
  tests/Observability.AspNetCore.Tests
  tests/Observability.AspNetCore.IntegrationTests
)

log() { printf '==> %s\n' "$*"; }
die() { printf 'eng/test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. Tools ---------------------------------------------------------------------------------

# Prints the Debian packages whose binaries are missing (presence is judged by binary, not by dpkg,
# so a tool installed some other way counts too).
missing_packages() {
  local missing=()
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  { command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
  command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  command -v jq >/dev/null || missing+=(jq)
  command -v wrk >/dev/null || missing+=(wrk)
  printf '%s\n' "${missing[@]}"
}

ensure_tools() {
  local missing
  mapfile -t missing < <(missing_packages | sed '/^$/d')
  if ((${#missing[@]} == 0)); then
    return
  fi

  log "Installing missing Debian packages: ${missing[*]}"
  local -a as_root=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null; then
      as_root=(sudo)
    else
      die "missing test dependencies (${missing[*]}); not root and no sudo, so install them yourself: apt-get install ${missing[*]}"
    fi
  fi
  command -v apt-get >/dev/null ||
    die "missing test dependencies (${missing[*]}) and no apt-get to install them with; install them with your package manager"

  # --no-install-recommends: we only need the binaries, not e.g. node-exporter or extra services.
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed; cannot install ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed for: ${missing[*]}"

  mapfile -t missing < <(missing_packages | sed '/^$/d')
  ((${#missing[@]} == 0)) || die "still missing after installing: ${missing[*]}"
}

command -v dotnet >/dev/null || die "the .NET SDK (dotnet, 10.0.x, see global.json) is not on PATH"
ensure_tools

# --- 2. Build ---------------------------------------------------------------------------------

log "dotnet build Observability.sln -c Release"
dotnet build Observability.sln -c Release -nologo || die "build failed (no tests were run)"

# --- 3. Test ----------------------------------------------------------------------------------

results_dir="artifacts/test-results"
rm -rf "$results_dir"
mkdir -p "$results_dir"

total_passed=0
total_failed=0
failed_projects=()

for project in "${test_projects[@]}"; do
  name="$(basename "$project")"
  console_log="$results_dir/$name.log"
  log "dotnet test $project"

  # --blame-hang-timeout: a single test stuck that long is killed and named in the output.
  # timeout: a wall-clock cap on the whole project on top of that (e.g. a hang outside any test).
  # The console summary line is parsed below; the trx file is kept for CI artifacts.
  rc=0
  timeout --kill-after=60s "$project_timeout" \
    dotnet test "$project" --no-build -c Release \
      --blame-hang-timeout "$hang_timeout" --blame-hang-dump-type none \
      --logger "trx;LogFileName=$name.trx" --results-directory "$results_dir" \
      "$@" 2>&1 | tee "$console_log" || rc=$?

  # "Passed!  - Failed:     0, Passed:    21, Skipped:     0, Total:    21, Duration: ..." (one per test assembly).
  read -r passed failed < <(
    sed -nE 's/^.*(Passed|Failed)! +- +Failed: +([0-9]+), +Passed: +([0-9]+),.*$/\3 \2/p' "$console_log" |
      awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
  )
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))

  if ((rc != 0)); then
    if ((rc == 124 || rc == 137)); then
      log "$name: exceeded the $project_timeout wall-clock limit and was killed"
    fi
    # A hang (blame-hang kill) or crash aborts the run without counting the test that was running
    # as failed; count it, so the summary line agrees with the exit code.
    if ((failed == 0)); then
      total_failed=$((total_failed + 1))
    fi
    failed_projects+=("$name (exit code $rc)")
  fi
done

# --- 4. Summary -------------------------------------------------------------------------------

echo
for failure in "${failed_projects[@]}"; do
  echo "failed: $failure"
done
echo "tests: $total_passed passed, $total_failed failed"

if ((total_passed + total_failed == 0)); then
  die "no test ran (check the --filter, or whether the test projects contain tests)"
fi
if ((${#failed_projects[@]} > 0 || total_failed > 0)); then
  exit 1
fi
