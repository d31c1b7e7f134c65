#!/usr/bin/env bash
# Load and micro benchmarks of Observability.AspNetCore (issue 7). Not part of the test command: timings on shared
# machines are noisy. A test runs `--smoke` so the harness cannot rot. Results: docs/performance.md.
#
#   bash eng/bench.sh                 # the full run (about 12 minutes on 2 cores): load, cardinality, micro-benchmarks
#   bash eng/bench.sh --skip-micro    # load and cardinality only
#   bash eng/bench.sh --smoke         # one short round of everything (about a minute after the first build)
#   bash eng/bench.sh --ablation --skip-micro --rounds 8
#                                     # adds variants of the defaults app with one feature switched off by
#                                     # configuration each, to attribute its cost (not part of the standard run)
#   bash eng/bench.sh --skip-micro --variants observability-defaults,defaults-tracing,otel-only
#                                     # the cost of tracing (issue 21): the defaults app exporting every span over
#                                     # OTLP, beside OpenTelemetry's own instrumentation alone, both to a local receiver
#
# Options: --rounds N (alternations per endpoint, default 12), --window S (seconds per wrk window, default 3),
#          --order rotate|shuffle (variant order within a round: rotated by one every round, the default, so each
#          variant always follows the same one; or a fresh random order every round and endpoint),
#          --connections C (wrk connections, default 128), --variants a,b,... (bare is always included; also
#          names the opt-in variants: reference-prototype, the issue's reference design rebuilt, see its Program.cs;
#          defaults-tracing and otel-only, see step 1b), --starts N (cold starts per variant for the start-up
#          columns, default 5, 1 with --smoke), --work-dir DIR (default artifacts/bench, or artifacts/bench-smoke).
#
# What it does:
# 1. Publishes (Release) the apps in benchmarks/apps, which serve the same two endpoints with the same handlers
#    (GET /api/items/{id:int} -> small JSON record, GET /ping -> short string), and the BenchmarkDotNet project.
#    They reference the library by ProjectReference, so this repository's code is what is measured.
#    1b. When defaults-tracing or otel-only runs: a local OTLP receiver (benchmarks/Bench.OtlpSink) on wrk's core,
#    taking http/protobuf on /v1/traces under one path prefix per variant and counting requests, bytes and spans.
#    defaults-tracing is the defaults app with Observability:Otlp:Endpoint set (sampling 1.0); otel-only is the bare
#    app with OpenTelemetry's ASP.NET Core instrumentation and OTLP exporter alone, same SDK, protocol and receiver.
#    Also bare and the defaults app once more, published ReadyToRun (-r linux-x64 --self-contained false
#    -p:PublishReadyToRun=true, as start-up-sensitive teams publish) into publish/<app>/release_linux-x64.
#    1c. Start-up, one server at a time before any warm server runs: for every variant, process start to the first
#    200 on /ping and VmRSS right after it; one unmeasured start each (page cache), then --starts rounds alternating
#    the variants; medians, and the median difference to bare's start in the same round. Two start-up-only rows join
#    them, never the later steps: bare-r2r and defaults-r2r, the ReadyToRun publishes, each with its difference to
#    bare and, for defaults-r2r, a row of its differences to bare-r2r in the same round: what the library adds to an
#    app published that way (bare gains little from ReadyToRun: the shared framework is precompiled already).
# 2. Starts every variant at once as a warm server on 127.0.0.1 (one port each), all pinned to one core with taskset;
#    wrk is pinned to the other core. Pinning one core makes .NET see one CPU, which delays tier-1 JIT by ~10x:
#    DOTNET_TC_DelaySingleProcMultiplier=1 restores the normal delay. Each variant is warmed up until the CPU per
#    request of two consecutive windows agrees within 3% (tiered JIT settled; req/s would move with other tenants).
#    Then 30 s with no requests and every server up: each server's CPU ms per second and its threads' context
#    switches per second while idle (timers and background loops: what an idle service pays all day).
# 3. Paired alternation: rounds of short wrk windows, one per variant and endpoint, the order rotated every round.
#    Each window's figure is divided by the bare app's figure from the same round, and the median and interquartile
#    range of those paired ratios are reported: the machine's speed drifts by +-20% within minutes, which a
#    fresh-server-per-run design cannot separate from a 5% difference; a ratio within one round can.
#    Per window: req/s, server CPU per request (utime+stime from /proc/<pid>/stat around the window / requests),
#    p50/p99 latency (wrk), log bytes written per request, response bytes per request, server CPU % (its CPU time /
#    window: below 100 the server was not the bottleneck, so req/s also reflects the client); RSS at the end.
#    With the tracing variants: per round, (defaults-tracing - bare) - [(otel-only - bare) + (defaults - bare)] CPU
#    per request, over bare's: what our tracing costs beyond OpenTelemetry's own instrumentation plus our defaults.
# 4. Cardinality: 20,000 requests to distinct /api/items/{id} URLs + 5,000 to random unmatched paths per variant:
#    series on /metrics and RSS before and after.
# 5. BenchmarkDotNet micro-benchmarks (benchmarks/Observability.Benchmarks), short in-process job.
# 6. Prints markdown tables (also written to <work-dir>/results.md).
#
# Log sink: each server's stdout is appended to a regular file (O_APPEND), truncated between windows. That is what a
# real deployment pays: container runtimes and log shippers read the process's stdout from a pipe or a file, so every
# line costs a write(2) that copies it into the kernel; /dev/null would hide that copy, a terminal would add
# rendering. Every variant that logs uses the same sink; bytes per request are read off the file's growth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No build server or reused MSBuild node may outlive the script holding its output pipes (the smoke test reads them);
# MSBuild paths inherited from a calling dotnet (a test host) would point this build at the wrong SDK parts.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
unset MSBuildExtensionsPath MSBuildSDKsPath MSBUILD_EXE_PATH

smoke=0
skip_micro=0
ablation=0
rounds=""
window=""
connections=128
work_dir=""
only_variants=""
order=rotate
starts=""

die() { printf 'eng/bench.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

while (($# > 0)); do
  case "$1" in
    --smoke) smoke=1 ;;
    --skip-micro) skip_micro=1 ;;
    --ablation) ablation=1 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --window) window="${2:?--window needs seconds}"; shift ;;
    --connections) connections="${2:?--connections needs a number}"; shift ;;
    --work-dir) work_dir="${2:?--work-dir needs a directory}"; shift ;;
    --variants) only_variants="${2:?--variants needs a list}"; shift ;;
    --order) order="${2:?--order needs rotate or shuffle}"; shift ;;
    --starts) starts="${2:?--starts needs a number}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

if ((smoke)); then
  rounds="${rounds:-1}"; window="${window:-1}"
  warmup_min=1; warmup_max=1; warmup_window=1
  card_items=300; card_unmatched=100
  starts="${starts:-1}"
  work_dir="${work_dir:-artifacts/bench-smoke}"
else
  rounds="${rounds:-12}"; window="${window:-3}"
  warmup_min=3; warmup_max=6; warmup_window=2
  card_items=20000; card_unmatched=5000
  starts="${starts:-5}"
  work_dir="${work_dir:-artifacts/bench}"
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ "$window" =~ ^[1-9][0-9]*$ ]] || die "--window must be whole seconds"
[[ "$connections" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
[[ "$starts" =~ ^[1-9][0-9]*$ ]] || die "--starts must be a positive integer"
[[ "$order" == rotate || "$order" == shuffle ]] || die "--order must be rotate or shuffle, was '$order'"
mkdir -p "$work_dir"
work_dir="$(cd "$work_dir" && pwd)"
# One run per work directory at a time (two test runs in one working tree would otherwise share the smoke directory).
exec 9>"$work_dir/.lock"
flock -w 900 9 || die "another eng/bench.sh run holds $work_dir for more than 15 minutes"
run_dir="$work_dir/run"
started_at=$(date +%s)
load_avg_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Variants ----------------------------------------------------------------------------------------------------
# id, project, has /metrics, label in the tables
all_variants=(bare observability-defaults hand-assembled prometheus-only serilog-only)
# Run only when named in --variants: the issue's "careful single-middleware prototype", rebuilt so that the reference
# its bar was taken from can be measured in the same rounds (benchmarks/apps/Bench.ReferencePrototype/Program.cs).
# And the two tracing variants of issue 21, which export every span to the local receiver (step 1b).
optional_variants=(reference-prototype defaults-tracing otel-only)
declare -A project=(
  [bare]=Bench.Bare
  [observability-defaults]=Bench.ObservabilityDefaults
  [hand-assembled]=Bench.HandAssembled
  [prometheus-only]=Bench.PrometheusOnly
  [serilog-only]=Bench.SerilogOnly
  [reference-prototype]=Bench.ReferencePrototype
  [defaults-tracing]=Bench.ObservabilityDefaults
  [otel-only]=Bench.OtelOnly
)
declare -A has_metrics=([bare]=0 [observability-defaults]=1 [hand-assembled]=1 [prometheus-only]=1 [serilog-only]=0 [reference-prototype]=1
  [defaults-tracing]=1 [otel-only]=0)
declare -A label=(
  [bare]="bare (baseline)"
  [observability-defaults]="**observability-defaults**"
  [hand-assembled]="hand-assembled"
  [prometheus-only]="prometheus-net only"
  [serilog-only]="Serilog request logging only"
  [reference-prototype]="reference prototype (the issue's, rebuilt)"
  [defaults-tracing]="defaults + tracing (OTLP, sampling 1.0)"
  [otel-only]="OpenTelemetry ASP.NET Core instrumentation + OTLP only"
)
# Ablation: the defaults app again, with one piece switched off through configuration (environment variables), so
# the difference to observability-defaults in the same round is that piece's cost. The library is not changed.
ablation_variants=(defaults-no-event defaults-no-metrics defaults-no-slow defaults-log-devnull)
declare -A extra_env=(
  [defaults-no-event]="Serilog__MinimumLevel__Default=Warning"
  [defaults-no-metrics]="Observability__Metrics__Enabled=false"
  [defaults-no-slow]="Observability__SlowRequests__ThresholdMs=0 Observability__SlowRequests__HungAfterMs=0"
  [defaults-log-devnull]=""
  # @SINK@ becomes the receiver's URL; each variant exports under its own path prefix, so the receiver counts each.
  [defaults-tracing]="Observability__Otlp__Endpoint=@SINK@/defaults-tracing Observability__Otlp__Protocol=http/protobuf Observability__Otlp__SamplingRatio=1"
  [otel-only]="OTEL_EXPORTER_OTLP_ENDPOINT=@SINK@/otel-only OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
)
tracing_variants=(defaults-tracing otel-only)
for v in "${ablation_variants[@]}"; do project[$v]=Bench.ObservabilityDefaults; has_metrics[$v]=0; done
has_metrics[defaults-no-slow]=1
label+=(
  [defaults-no-event]="(ablation) defaults, completion event filtered by level"
  [defaults-no-metrics]="(ablation) defaults, metrics disabled"
  [defaults-no-slow]="(ablation) defaults, slow/hung detection off"
  [defaults-log-devnull]="(ablation) defaults, stdout to /dev/null"
)
# Start-up only (step 1c): the same two apps published ReadyToRun; measured in the start-up rounds and nowhere else.
r2r_variants=(bare-r2r defaults-r2r)
project+=([bare-r2r]=Bench.Bare [defaults-r2r]=Bench.ObservabilityDefaults)
label+=([bare-r2r]="bare, ReadyToRun" [defaults-r2r]="**observability-defaults**, ReadyToRun")
variants=(bare)
((ablation)) && all_variants+=("${ablation_variants[@]}")
# Without --variants: the standard ones, and in smoke mode the opt-in ones too, so that no app can rot unnoticed.
for v in "${all_variants[@]:1}" "${optional_variants[@]}"; do
  if [[ -n "$only_variants" ]]; then
    if [[ ",$only_variants," == *",$v,"* ]]; then variants+=("$v"); fi
  elif ((smoke)) || [[ " ${optional_variants[*]} " != *" $v "* ]]; then
    variants+=("$v")
  fi
done
for v in ${only_variants//,/ }; do
  [[ -n "${project[$v]:-}" && " ${r2r_variants[*]} " != *" $v "* ]] || die "unknown variant '$v' (known: ${all_variants[*]} ${optional_variants[*]})"
done
endpoints=(items ping)
declare -A endpoint_path=([items]=/api/items/42 [ping]=/ping)
declare -A endpoint_label=([items]='GET /api/items/{id}' [ping]='GET /ping')

# --- Tools and cores -----------------------------------------------------------------------------------------------
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not on PATH"
missing=()
for tool in wrk taskset curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]} > 0)); then
  packages=("${missing[@]/taskset/util-linux}")
  if ((EUID == 0)) && command -v apt-get >/dev/null; then
    log "Installing missing Debian packages: ${packages[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null ||
      die "could not install ${packages[*]}"
  else
    die "missing tools: ${missing[*]} (apt-get install ${packages[*]})"
  fi
fi

# The CPUs this script may use (Cpus_allowed_list, e.g. "0-1" or "0,2-3"), expanded.
allowed_cpus=()
IFS=, read -ra cpu_ranges <<<"$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)"
for r in "${cpu_ranges[@]}"; do
  if [[ "$r" == *-* ]]; then for ((c = ${r%-*}; c <= ${r#*-}; c++)); do allowed_cpus+=("$c"); done; else allowed_cpus+=("$r"); fi
done
server_cpu="${allowed_cpus[0]}"
if ((${#allowed_cpus[@]} >= 2)); then
  client_cpu="${allowed_cpus[1]}"
else
  client_cpu="$server_cpu"
  log "warning: only one CPU available; servers and wrk share it, so the figures mean little"
fi
clk_tck=$(getconf CLK_TCK)
# "steal total" ticks of one CPU from /proc/stat: time the hypervisor gave that virtual CPU to other guests, and all
# time. Steal makes windows noisier (a window's CPU time stays the server's own, but caches are shared with others).
cpu_steal_total() { awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
steal_percent() { # start end -> percent
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f%%", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# --- 1. Build ------------------------------------------------------------------------------------------------------
log "dotnet publish benchmarks/Benchmarks.slnx -c Release (into $work_dir/build)"
# --artifacts-path: the library is built into the work directory too, never into src/*/bin, which the solution build
# and other test runs use at the same time. No build servers: nothing outlives the script holding its output pipes.
dotnet publish benchmarks/Benchmarks.slnx -c Release --artifacts-path "$work_dir/build" \
  --disable-build-servers -nodeReuse:false -nologo -v quiet -p:UseSharedCompilation=false >"$work_dir/build.log" 2>&1 ||
  { tail -n 40 "$work_dir/build.log" >&2; die "build failed (full log: $work_dir/build.log)"; }
publish_dir() { printf '%s/build/publish/%s/release' "$work_dir" "$1"; }
for v in "${variants[@]}" otlp-receiver; do
  app=${project[$v]:-Bench.OtlpSink}
  [[ -f "$(publish_dir "$app")/$app.dll" ]] || die "published app missing: $(publish_dir "$app")/$app.dll"
done
# The measured library must be the optimized build (a solution publish builds references outside the solution in Debug).
library_release="$work_dir/build/bin/Observability.AspNetCore/release/Observability.AspNetCore.dll"
for app in Bench.ObservabilityDefaults Observability.Benchmarks; do
  cmp -s "$library_release" "$(publish_dir "$app")/Observability.AspNetCore.dll" ||
    die "$app does not carry the Release build of the library ($library_release)"
done

# The start-up-only ReadyToRun publishes, beside the plain ones (the load phase measures those): same artifacts path,
# so the library is this build's, and crossgen2 precompiles it and every package into each app's own folder.
r2r_dir() { printf '%s/build/publish/%s/release_linux-x64' "$work_dir" "$1"; }
# Little-endian unsigned integer of $3 bytes (2 or 4) at offset $2 of file $1.
le_uint() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# "<ReadyToRun 0|1> <metadata offset> <metadata size>" of the managed PE image $1 (ECMA-335 II.25: the CLI header's
# ManagedNativeHeader points at the runtime's READYTORUN_HEADER, signature "RTR", in a ReadyToRun image only).
clr_image() {
  local f=$1 pe opt dirs nsec sec cli off md_rva md_size mn_rva r2r=0
  pe=$(le_uint "$f" 60 4)
  [[ "$(le_uint "$f" "$pe" 4)" == 17744 ]] || return 1 # "PE\0\0"
  nsec=$(le_uint "$f" $((pe + 6)) 2)
  opt=$((pe + 24))
  case "$(le_uint "$f" "$opt" 2)" in 267) dirs=$((opt + 96)) ;; 523) dirs=$((opt + 112)) ;; *) return 1 ;; esac
  sec=$((opt + $(le_uint "$f" $((pe + 20)) 2)))
  rva_offset() {
    local i va
    for ((i = 0; i < nsec; i++)); do
      va=$(le_uint "$f" $((sec + 40 * i + 12)) 4)
      if (($1 >= va && $1 < va + $(le_uint "$f" $((sec + 40 * i + 8)) 4))); then echo $(($1 - va + $(le_uint "$f" $((sec + 40 * i + 20)) 4))); return; fi
    done
    return 1
  }
  cli=$(rva_offset "$(le_uint "$f" $((dirs + 14 * 8)) 4)") || return 1
  md_rva=$(le_uint "$f" $((cli + 8)) 4); md_size=$(le_uint "$f" $((cli + 12)) 4); mn_rva=$(le_uint "$f" $((cli + 64)) 4)
  if ((mn_rva > 0)) && off=$(rva_offset "$mn_rva") && [[ "$(le_uint "$f" "$off" 4)" == 5395538 ]]; then r2r=1; fi
  off=$(rva_offset "$md_rva") || return 1
  echo "$r2r $off $md_size"
}
# The metadata heap named $2 (e.g. "#GUID") of the managed PE image $1, as bytes (ECMA-335 II.24.2.1-2).
metadata_heap() {
  local f=$1 r md n h i off size name
  read -r r md n < <(clr_image "$f") || return 1
  h=$((md + 16 + $(le_uint "$f" $((md + 12)) 4)))
  n=$(le_uint "$f" $((h + 2)) 2)
  h=$((h + 4))
  for ((i = 0; i < n; i++)); do
    off=$(le_uint "$f" "$h" 4); size=$(le_uint "$f" $((h + 4)) 4)
    # dd reads exactly the bytes wanted: a reader that stops early (head) would kill its writer with SIGPIPE, which
    # pipefail turns into a failed check, depending on timing.
    name=$(dd if="$f" bs=1 skip=$((h + 8)) count=32 status=none | tr '\0' '\n')
    name=${name%%$'\n'*}
    if [[ "$name" == "$2" ]]; then dd if="$f" bs=1 skip=$((md + off)) count="$size" status=none; return; fi
    h=$((h + 8 + (${#name} + 4) / 4 * 4))
  done
  return 1
}
log "dotnet publish Bench.Bare and Bench.ObservabilityDefaults -c Release -r linux-x64 ReadyToRun (start-up only)"
for app in Bench.Bare Bench.ObservabilityDefaults; do
  dotnet publish "benchmarks/apps/$app/$app.csproj" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    --artifacts-path "$work_dir/build" --disable-build-servers -nodeReuse:false -nologo -v quiet -p:UseSharedCompilation=false \
    >>"$work_dir/build.log" 2>&1 || { tail -n 40 "$work_dir/build.log" >&2; die "ReadyToRun publish of $app failed (full log: $work_dir/build.log)"; }
  image=$(r2r_dir "$app")/$app.dll
  [[ "$(clr_image "$image" 2>/dev/null)" == 1\ * ]] || die "$image is missing or not a ReadyToRun image"
done
# A ReadyToRun image differs from its IL byte for byte (even the method table's IL addresses move) but keeps its
# #GUID heap: the module's MVID, which the deterministic compiler derives from the whole compilation.
image=$(r2r_dir Bench.ObservabilityDefaults)/Observability.AspNetCore.dll
[[ "$(clr_image "$image" 2>/dev/null)" == 1\ * ]] || die "$image is missing or not a ReadyToRun image"
mvid=$(metadata_heap "$library_release" '#GUID' | od -An -tx1 | tr -d ' \n')
[[ -n "$mvid" && "$(metadata_heap "$image" '#GUID' | od -An -tx1 | tr -d ' \n')" == "$mvid" ]] ||
  die "$image was not precompiled from the Release build of the library ($library_release)"

# --- 2. Servers ----------------------------------------------------------------------------------------------------
declare -A pid=() port=()
receiver_pid=""
stop() { # pid...: SIGTERM (a graceful stop: the tracing variants flush their last spans), SIGKILL after 5 s
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
cleanup() {
  stop "${pid[@]}"
  pid=()
}
trap 'cleanup; [[ -z "$receiver_pid" ]] || stop "$receiver_pid"' EXIT
trap 'exit 130' INT TERM

# Below Linux's ephemeral range (32768 and up), where the outgoing connections and port-0 listeners of whatever runs
# beside the bench (the integration tests do) cannot take a port between this check and the server's bind.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    if [[ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] && ! [[ " ${port[*]} " == *" $p "* ]]; then
      echo "$p"; return
    fi
  done
  die "no free loopback port found"
}

rm -rf "$run_dir"
mkdir -p "$run_dir"

# Starts variant $1 on port $2 in the background ($! is its pid), stdout appended to $3, stderr to $4. Nothing
# configured but the URL (and extra_env); the runtime setting is not app configuration. `exec` chain keeps one pid.
start_server() {
  local v=$1 dir env_words
  dir=$(publish_dir "${project[$v]}")
  [[ "$v" != *-r2r ]] || dir=$(r2r_dir "${project[$v]}")
  env_words=${extra_env[$v]:-}
  env_words=${env_words//@SINK@/$receiver_url}
  # shellcheck disable=SC2086 # extra_env is a list of NAME=value words
  (cd "$dir" && exec taskset -c "$server_cpu" env -u ASPNETCORE_ENVIRONMENT -u DOTNET_ENVIRONMENT -u ASPNETCORE_URLS \
    -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_PROTOCOL DOTNET_TC_DelaySingleProcMultiplier=1 $env_words \
    dotnet "${project[$v]}.dll" --urls "http://127.0.0.1:$2" >>"$3" 2>>"$4") &
}

# --- 1b. OTLP receiver ---------------------------------------------------------------------------------------------
# On wrk's core, off the servers' one: it costs the client side, never a server's CPU per request. If it fell behind,
# the exporters' queues would drop spans, which the spans-per-request figure of the report would show.
receiver_url=""
for v in "${tracing_variants[@]}"; do
  [[ " ${variants[*]} " == *" $v "* ]] || continue
  port[otlp-receiver]=$(free_port)
  receiver_url="http://127.0.0.1:${port[otlp-receiver]}"
  (cd "$(publish_dir Bench.OtlpSink)" && exec taskset -c "$client_cpu" dotnet Bench.OtlpSink.dll --urls "$receiver_url" \
    >"$run_dir/otlp-receiver.stdout" 2>"$run_dir/otlp-receiver.stderr") &
  receiver_pid=$!
  deadline=$((SECONDS + 60))
  until curl -fsS -m 2 -o /dev/null "$receiver_url/stats" 2>/dev/null; do
    kill -0 "$receiver_pid" 2>/dev/null || { tail -n 20 "$run_dir/otlp-receiver.stderr" >&2; die "the OTLP receiver exited during startup"; }
    ((SECONDS < deadline)) || die "the OTLP receiver did not answer within 60 s"
    sleep 0.2
  done
  log "OTLP receiver up on $receiver_url (CPU $client_cpu)"
  break
done

# --- 1c. Start-up: time to first response, memory after it -------------------------------------------------------
# One server at a time and before the warm servers start, so no start competes with another process of the run.
# Process start = just before the launcher forks; the first 200 on /ping is polled every ~1-2 ms over bash's
# /dev/tcp (no fork per try) from the client's core; VmRSS is read right after that response.
first_ping_ok() {
  local status=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  read -r -t 10 _ status _ <&3 || true
  exec 3<&- 3>&-
  [[ "$status" == 200 ]]
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
startup_tsv="$run_dir/startup.tsv"
measure_startups() { # in a subshell pinned to the client's core; the servers pin themselves to theirs
  local round v p out t0 t1 rss nap startup_pid=""
  taskset -cp "$client_cpu" "$BASHPID" >/dev/null
  trap '[[ -z "${startup_pid:-}" ]] || kill -KILL "$startup_pid" 2>/dev/null || true' EXIT
  exec {nap}<> <(:) # read -t on a pipe nobody writes: a sub-millisecond sleep without a fork
  printf 'round\tvariant\tfirst_response_ms\trss_kib\n' >"$startup_tsv"
  # Round 0 is not counted: it brings every app's files into the page cache, so every measured start finds them there.
  for ((round = 0; round <= starts; round++)); do
    for v in "${variants[@]}" "${r2r_variants[@]}"; do
      p=$(free_port)
      out="$run_dir/$v.startup.stdout"
      [[ "$v" == defaults-log-devnull ]] && out=/dev/null
      : >"$out"
      t0=$EPOCHREALTIME
      start_server "$v" "$p" "$out" "$run_dir/$v.stderr"
      startup_pid=$!
      until first_ping_ok "$p"; do
        kill -0 "$startup_pid" 2>/dev/null || { tail -n 20 "$run_dir/$v.stderr" >&2; die "$v exited during startup"; }
        awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 60) }' || die "$v did not answer /ping within 60 s"
        read -r -t 0.001 -u "$nap" _ || true
      done
      t1=$EPOCHREALTIME
      rss=$(rss_kib "$startup_pid")
      stop "$startup_pid"
      wait "$startup_pid" 2>/dev/null || true
      startup_pid=""
      if ((round > 0)); then
        awk -v r="$round" -v v="$v" -v a="$t0" -v b="$t1" -v k="$rss" 'BEGIN { printf "%d\t%s\t%.1f\t%d\n", r, v, (b - a) * 1000, k }' >>"$startup_tsv"
      fi
    done
  done
}
log "start-up: $((${#variants[@]} + ${#r2r_variants[@]})) variants (ReadyToRun ones included) one at a time, 1 unmeasured + $starts measured starts each"
(measure_startups) || exit 1

for v in "${variants[@]}"; do
  port[$v]=$(free_port)
  # Every variant that logs appends to a regular file; one ablation measures what that file costs against /dev/null.
  sink="$run_dir/$v.stdout"
  [[ "$v" == defaults-log-devnull ]] && { sink=/dev/null; : >"$run_dir/$v.stdout"; }
  start_server "$v" "${port[$v]}" "$sink" "$run_dir/$v.stderr"
  pid[$v]=$!
done

for v in "${variants[@]}"; do
  deadline=$((SECONDS + 60))
  until curl -fsS -m 2 -o /dev/null "http://127.0.0.1:${port[$v]}/ping" 2>/dev/null; do
    kill -0 "${pid[$v]}" 2>/dev/null || { tail -n 20 "$run_dir/$v.stderr" "$run_dir/$v.stdout" >&2; die "$v exited during startup"; }
    ((SECONDS < deadline)) || die "$v did not answer /ping within 60 s"
    sleep 0.2
  done
done
log "servers up on 127.0.0.1 (CPU $server_cpu): $(for v in "${variants[@]}"; do printf '%s=%s ' "$v" "${port[$v]}"; done)"

# Same handlers everywhere: same bodies; the two stacks that promise a request ID send one.
for ep in "${endpoints[@]}"; do
  expected=$(curl -fsS "http://127.0.0.1:${port[bare]}${endpoint_path[$ep]}")
  for v in "${variants[@]}"; do
    body=$(curl -fsS -D "$run_dir/$v.$ep.headers" "http://127.0.0.1:${port[$v]}${endpoint_path[$ep]}")
    [[ "$body" == "$expected" ]] || die "$v answered ${endpoint_path[$ep]} with '$body', bare with '$expected'"
  done
done
for v in observability-defaults hand-assembled reference-prototype defaults-tracing; do
  [[ -n "${pid[$v]:-}" ]] || continue
  grep -qi '^x-request-id:' "$run_dir/$v.items.headers" || die "$v sent no X-Request-ID header"
done
# One request's log line per variant, kept for the report (what each stack writes per request).
sleep 0.5
for v in "${variants[@]}"; do
  { tail -n 1 "$run_dir/$v.stdout" 2>/dev/null || true; } >"$run_dir/$v.sample.log"
done

# --- Measuring one window ------------------------------------------------------------------------------------------
cpu_ticks() { # utime + stime of the whole process (all threads, dead ones included), in clock ticks
  local stat rest f
  read -r stat <"/proc/$1/stat"
  rest=${stat##*) }
  read -ra f <<<"$rest"
  echo $((f[11] + f[12]))
}
file_size() { stat -c %s "$1"; }

# Runs wrk against one variant and endpoint; prints
# "rps cpu_us_per_req p50_us p99_us log_b_per_req resp_b_per_req requests errors non2xx server_cpu_percent".
measure() {
  local v=$1 ep=$2 secs=$3 out ticks0 ticks1 size0 size1 line
  local w_requests w_duration_us w_bytes w_errors w_non2xx w_p50_us w_p99_us
  size0=$(file_size "$run_dir/$v.stdout")
  ticks0=$(cpu_ticks "${pid[$v]}")
  out=$(taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${secs}s" --latency -s benchmarks/wrk/report.lua \
    "http://127.0.0.1:${port[$v]}${endpoint_path[$ep]}" 2>&1) || die "wrk failed against $v: $out"
  ticks1=$(cpu_ticks "${pid[$v]}")
  size1=$(file_size "$run_dir/$v.stdout")
  line=$(grep '^WRK_RESULT ' <<<"$out") || die "wrk printed no result against $v: $out"
  eval "$(tr ' ' '\n' <<<"${line#WRK_RESULT }" | sed 's/^/w_/')"
  ((w_requests > 0)) || die "no request completed against $v ${endpoint_path[$ep]}"
  # Every request wrk completed, warm-up included: what the tracing variants' received spans are compared with.
  printf '%s\t%d\n' "$v" "$w_requests" >>"$run_dir/served.tsv"
  # Keep the log files small: truncating an O_APPEND file between windows is safe for the writer.
  : >"$run_dir/$v.stdout"
  awk -v r="$w_requests" -v d="$w_duration_us" -v t=$((ticks1 - ticks0)) -v hz="$clk_tck" -v b=$((size1 - size0)) \
    -v rb="$w_bytes" -v p50="$w_p50_us" -v p99="$w_p99_us" -v e="$w_errors" -v n="$w_non2xx" \
    'BEGIN { printf "%.1f %.3f %d %d %.1f %.1f %d %d %d %.1f\n", r / (d / 1e6), t * 1e6 / hz / r, p50, p99, b / r, rb / r, r, e, n, 100 * t / hz / (d / 1e6) }'
}

# --- 3. Warm-up ----------------------------------------------------------------------------------------------------
# Settled = CPU per request of two consecutive windows within 3%: unlike req/s it does not move when another tenant of
# the machine takes a share of the server's core, but it drops while tier-1 code replaces tier-0 code.
log "warm-up: ${warmup_window}s windows per variant and endpoint until CPU/request settles within 3% (min $warmup_min, max $warmup_max)"
for v in "${variants[@]}"; do
  for ep in "${endpoints[@]}"; do
    previous=0
    for ((i = 1; i <= warmup_max; i++)); do
      figures=$(measure "$v" "$ep" "$warmup_window") || exit 1
      read -r rps cpu _ <<<"$figures"
      if ((i >= warmup_min)) && awk -v a="$cpu" -v b="$previous" 'BEGIN { exit !(b > 0 && (a - b) / b < 0.03 && (b - a) / b < 0.03) }'; then
        break
      fi
      previous=$cpu
    done
    log "  $v ${endpoint_path[$ep]}: $rps req/s, $cpu µs CPU/req after $((i > warmup_max ? warmup_max : i)) windows"
  done
done

# --- Idle -----------------------------------------------------------------------------------------------------------
# What each server costs with no requests at all (timers, background loops): its CPU time and its threads' context
# switches over a quiet spell after the warm-up, while every server is idle. An idle service pays this all day.
# Per thread, "tid switches"; a thread that exits during the spell takes its count with it, so the sum is over the
# threads alive at its end (a new thread counts in full).
# A thread may end between the listing and the read: its file is gone, which is not an error (|| true under set -e).
ctx_switches() { for f in /proc/"$1"/task/*/status; do awk -v t="${f%/status}" '/ctxt_switches:/ { n += $2 } END { sub(/.*\//, "", t); if (n > 0) print t, n }' "$f" 2>/dev/null || true; done; }
idle_secs=$((smoke ? 3 : 30))
log "idle: ${idle_secs}s with no requests"
sleep 2
declare -A idle_ticks0=() idle_cpu=() idle_cs=()
for v in "${variants[@]}"; do idle_ticks0[$v]=$(cpu_ticks "${pid[$v]}"); ctx_switches "${pid[$v]}" >"$run_dir/$v.idle-cs"; done
sleep "$idle_secs"
for v in "${variants[@]}"; do
  idle_cpu[$v]=$(awk -v t=$(($(cpu_ticks "${pid[$v]}") - idle_ticks0[$v])) -v hz="$clk_tck" -v s="$idle_secs" 'BEGIN { printf "%.1f", t * 1000 / hz / s }')
  idle_cs[$v]=$(ctx_switches "${pid[$v]}" | awk -v s="$idle_secs" 'NR == FNR { before[$1] = $2; next } { n += $2 - before[$1] } END { printf "%.0f", n / s }' "$run_dir/$v.idle-cs" -)
done

# --- 4. Paired alternation -----------------------------------------------------------------------------------------
windows_tsv="$run_dir/windows.tsv"
printf 'round\tendpoint\tvariant\trps\tcpu_us_per_req\tp50_us\tp99_us\tlog_b_per_req\tresp_b_per_req\trequests\terrors\tnon2xx\tserver_cpu_percent\n' >"$windows_tsv"
steal_server_start=$(cpu_steal_total "$server_cpu"); steal_client_start=$(cpu_steal_total "$client_cpu")
log "alternation: $rounds rounds x ${#endpoints[@]} endpoints x ${#variants[@]} variants, ${window}s windows, wrk -t1 -c$connections (CPU $client_cpu), order: $order"
n=${#variants[@]}
for ((round = 1; round <= rounds; round++)); do
  for ep in "${endpoints[@]}"; do
    round_order=()
    if [[ "$order" == shuffle ]]; then
      mapfile -t round_order < <(printf '%s\n' "${variants[@]}" | shuf)
    else
      for ((k = 0; k < n; k++)); do round_order+=("${variants[$(((k + round - 1) % n))]}"); done
    fi
    for v in "${round_order[@]}"; do
      figures=$(measure "$v" "$ep" "$window") || exit 1
      printf '%d\t%s\t%s\t%s\n' "$round" "$ep" "$v" "${figures// /$'\t'}" >>"$windows_tsv"
    done
  done
  log "  round $round/$rounds done ($((SECONDS))s)"
done
declare -A rss_end=()
for v in "${variants[@]}"; do rss_end[$v]=$(rss_kib "${pid[$v]}"); done

# --- 5. Cardinality ------------------------------------------------------------------------------------------------
series_count() { curl -fsS -m 10 "http://127.0.0.1:${port[$1]}/metrics" | { grep -v '^#' || true; } | { grep -c . || true; }; }
cardinality_tsv="$run_dir/cardinality.tsv"
printf 'variant\tseries_before\tseries_after\trss_before_kib\trss_after_kib\trequests\tnon2xx\n' >"$cardinality_tsv"
steal_server=$(steal_percent "$steal_server_start" "$(cpu_steal_total "$server_cpu")")
steal_client=$(steal_percent "$steal_client_start" "$(cpu_steal_total "$client_cpu")")
log "hypervisor steal during the alternation: CPU $server_cpu $steal_server, CPU $client_cpu $steal_client"
log "cardinality: $card_items distinct /api/items/{id} + $card_unmatched unmatched paths per variant"
for v in "${variants[@]}"; do
  before="-"; after="-"
  if ((has_metrics[$v])); then
    series_count "$v" >/dev/null # the first scrape may create the scrape endpoint's own series; not the run's doing
    before=$(series_count "$v")
  fi
  rss0=$(rss_kib "${pid[$v]}")
  out=$(taskset -c "$client_cpu" wrk -t1 -c4 -d120s -s benchmarks/wrk/cardinality.lua "http://127.0.0.1:${port[$v]}/" -- "$card_items" "$card_unmatched" 2>&1) ||
    die "wrk (cardinality) failed against $v: $out"
  : >"$run_dir/$v.stdout"
  line=$(grep '^WRK_RESULT ' <<<"$out") || die "the cardinality run against $v did not complete within 120 s: $out"
  sleep 1
  rss1=$(rss_kib "${pid[$v]}")
  if ((has_metrics[$v])); then after=$(series_count "$v"); fi
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  printf '%s\t%d\n' "$v" "$requests" >>"$run_dir/served.tsv"
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$before" "$after" "$rss0" "$rss1" "$requests" "$non2xx" >>"$cardinality_tsv"
done

load_avg_end=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup

# The servers have stopped gracefully, so the tracing variants have flushed their last batch: what the receiver got.
otlp_tsv="$run_dir/otlp-receiver.tsv"
if [[ -n "$receiver_pid" ]]; then
  curl -fsS -m 10 "$receiver_url/stats" | tr ' ' '\t' >"$otlp_tsv" || die "the OTLP receiver did not answer /stats"
  receiver_cpu_s=$(awk -v t="$(cpu_ticks "$receiver_pid")" -v hz="$clk_tck" 'BEGIN { printf "%.1f", t / hz }')
  stop "$receiver_pid"
  receiver_pid=""
fi

# --- 6. Micro-benchmarks -------------------------------------------------------------------------------------------
bdn_dir="$work_dir/bdn"
if ((skip_micro)); then
  log "micro-benchmarks skipped (--skip-micro)"
else
  log "BenchmarkDotNet micro-benchmarks ($([[ $smoke == 1 ]] && echo 'smoke: each once' || echo 'short in-process job'))"
  rm -rf "$bdn_dir"
  bdn_args=(--filter '*' --artifacts "$bdn_dir")
  ((smoke)) && bdn_args+=(--smoke)
  (cd "$work_dir" && dotnet "$(publish_dir Observability.Benchmarks)/Observability.Benchmarks.dll" "${bdn_args[@]}") >"$work_dir/bdn.log" 2>&1 ||
    { tail -n 40 "$work_dir/bdn.log" >&2; die "micro-benchmarks failed (full log: $work_dir/bdn.log)"; }
fi

# --- 7. Report -----------------------------------------------------------------------------------------------------
results="$work_dir/results.md"
label_pairs() { for v in "$@"; do printf '%s=%s|' "$v" "${label[$v]}"; done; } # "id=label|..." for the tables' awk
{
  echo "## Load benchmark: paired ratios to bare"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'); $rounds alternations per endpoint, ${window}s wrk windows, wrk -t1 -c$connections."
  echo "Ratios are per-round (variant ÷ bare in the same round): median (interquartile range). CPU = server utime+stime per request;"
  echo "server CPU % = the server's CPU time / window (100 = its core saturated by it alone). Absolute columns: medians."
  echo
  awk -F'\t' -v order="${variants[*]}" -v labels="$(for v in "${variants[@]}"; do printf '%s|' "${label[$v]}"; done)" \
    -v rss="$(for v in "${variants[@]}"; do printf '%s ' "${rss_end[$v]}"; done)" \
    -v eplabels="$(for ep in "${endpoints[@]}"; do printf '%s|' "${endpoint_label[$ep]}"; done)" -v eps="${endpoints[*]}" '
    function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    function q(a, n, p,   h, lo) { if (n == 1) return a[1]; h = (n - 1) * p + 1; lo = int(h); return lo >= n ? a[n] : a[lo] + (h - lo) * (a[lo + 1] - a[lo]) }
    function stat(key, fmt,   n, i, a) { n = cnt[key]; if (n == 0) return "n/a"; for (i = 1; i <= n; i++) a[i] = val[key, i]; sort(a, n)
      return sprintf(fmt " (" fmt "–" fmt ")", q(a, n, 0.5), q(a, n, 0.25), q(a, n, 0.75)) }
    function med(key,   n, i, a) { n = cnt[key]; if (n == 0) return 0; for (i = 1; i <= n; i++) a[i] = val[key, i]; sort(a, n); return q(a, n, 0.5) }
    # The approximate 95% interval of the median (order statistics, as eng/bench-pool.sh); sets lo95 and hi95.
    function ci(key, fmt,   n, i, a, j, k) { n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i]; sort(a, n)
      j = int(n / 2 - 0.98 * sqrt(n) + 0.5); k = int(n / 2 + 1 + 0.98 * sqrt(n) + 0.5); if (j < 1) j = 1; if (k > n) k = n
      lo95 = a[j]; hi95 = a[k]; return sprintf("[" fmt "–" fmt "]", lo95, hi95) }
    function add(key, x) { cnt[key]++; val[key, cnt[key]] = x }
    NR == 1 { next }
    { r[NR] = $0; cpuv[$1, $2, $3] = $5; if ($3 == "bare") { brps[$1, $2] = $4; bcpu[$1, $2] = $5; bp50[$1, $2] = $6; bp99[$1, $2] = $7 } }
    END {
      nv = split(order, vs, " "); split(labels, ls, "|"); split(rss, rs, " "); ne = split(eps, es, " "); split(eplabels, els, "|")
      for (i in r) { split(r[i], f, "\t"); k = f[1] SUBSEP f[2]; if (!(k in brps)) continue
        add(f[2] SUBSEP f[3] SUBSEP "rps", f[4] / brps[k]); add(f[2] SUBSEP f[3] SUBSEP "cpu", f[5] / bcpu[k])
        add(f[2] SUBSEP f[3] SUBSEP "p50", f[6] / bp50[k]); add(f[2] SUBSEP f[3] SUBSEP "p99", f[7] / bp99[k])
        add(f[2] SUBSEP f[3] SUBSEP "arps", f[4]); add(f[2] SUBSEP f[3] SUBSEP "acpu", f[5]); add(f[2] SUBSEP f[3] SUBSEP "ap50", f[6])
        add(f[2] SUBSEP f[3] SUBSEP "ap99", f[7]); add(f[2] SUBSEP f[3] SUBSEP "log", f[8]); add(f[2] SUBSEP f[3] SUBSEP "resp", f[9])
        add(f[2] SUBSEP f[3] SUBSEP "busy", f[13]) }
      for (e = 1; e <= ne; e++) {
        printf "### %s\n\n", els[e]
        print "| variant | req/s ÷ bare | CPU/req ÷ bare | p50 ÷ bare | p99 ÷ bare | req/s | CPU µs/req | server CPU % | p50 ms | p99 ms | RSS end MiB | log B/req | response B/req |"
        print "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (j = 1; j <= nv; j++) { k = es[e] SUBSEP vs[j]
          printf "| %s | %s | %s | %s | %s | %.0f | %.1f | %.0f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", ls[j],
            stat(k SUBSEP "rps", "%.2f"), stat(k SUBSEP "cpu", "%.2f"), stat(k SUBSEP "p50", "%.2f"), stat(k SUBSEP "p99", "%.2f"),
            med(k SUBSEP "arps"), med(k SUBSEP "acpu"), med(k SUBSEP "busy"), med(k SUBSEP "ap50") / 1000, med(k SUBSEP "ap99") / 1000, rs[j] / 1024,
            med(k SUBSEP "log"), med(k SUBSEP "resp") }
        print ""
        if ((es[e] SUBSEP "observability-defaults" SUBSEP "rps") in cnt) {
          k = es[e] SUBSEP "observability-defaults"; x = med(k SUBSEP "rps"); c = med(k SUBSEP "cpu"); p = med(k SUBSEP "p99")
          printf "Bar (≥ 0.85× req/s, ≤ 1.20× CPU/req): **%s** (%.2f×, %.2f×); aim (0.90×, 1.15×): %s; p99 within 1.25×: %s (%.2f×).\n\n",
            (x >= 0.85 && c <= 1.20) ? "met" : "missed", x, c, (x >= 0.90 && c <= 1.15) ? "met" : "not met", p <= 1.25 ? "yes" : "no", p
        }
        # Issue 21: what tracing adds to the defaults app, against what OpenTelemetry alone adds to bare,
        # per round: (tracing - bare) - [(otel - bare) + (defaults - bare)] = tracing - otel - defaults + bare.
        for (k in bcpu) { split(k, rk, SUBSEP); if (rk[2] != es[e]) continue
          t = cpuv[rk[1], es[e], "defaults-tracing"]; o = cpuv[rk[1], es[e], "otel-only"]; d = cpuv[rk[1], es[e], "observability-defaults"]
          if (t == "" || o == "" || d == "") continue
          b = bcpu[k]; add(es[e] SUBSEP "excess", (t - o - d + b) / b); add(es[e] SUBSEP "excessus", t - o - d + b)
          add(es[e] SUBSEP "tr", (t - b) / b); add(es[e] SUBSEP "ot", (o - b) / b); add(es[e] SUBSEP "df", (d - b) / b) }
        k = es[e] SUBSEP "excess"
        if (k in cnt) {
          interval = ci(k, "%+.2f"); m = med(k)
          printf "Tracing (issue 21), extra CPU/req over bare'"'"'s, per round: defaults + tracing %+.2f, OpenTelemetry alone %+.2f, defaults %+.2f; ",
            med(es[e] SUBSEP "tr"), med(es[e] SUBSEP "ot"), med(es[e] SUBSEP "df")
          printf "excess = (defaults-tracing − bare) − [(otel-only − bare) + (defaults − bare)] = **%+.2f** %s (%+.2f µs/req) over %d rounds. Aim (excess ≤ 0): **%s**; %s.\n\n",
            m, interval, med(es[e] SUBSEP "excessus"), cnt[k], (m <= 0 ? "met" : "missed"),
            (cnt[k] < 5 ? "too few rounds to tell it from the noise" : (hi95 < 0 ? "cheaper beyond the noise: the interval lies below 0" : (lo95 > 0 ? "costlier beyond the noise: the interval lies above 0" : "no difference these rounds can tell: the interval contains 0")))
        }
      }
    }' "$windows_tsv"
  awk -F'\t' 'NR > 1 { e += $11; n += $12 } END { if (e + n > 0) printf "**Warning:** %d socket errors and %d non-2xx responses during the measured windows.\n\n", e, n }' "$windows_tsv"

  echo "## Idle: ${idle_secs} s with no requests, every server up"
  echo
  echo "| variant | CPU ms per second | context switches per second |"
  echo "|---|---:|---:|"
  for v in "${variants[@]}"; do echo "| ${label[$v]} | ${idle_cpu[$v]} | ${idle_cs[$v]} |"; done
  echo

  echo "## Start-up: first response and memory after it, one server at a time"
  echo
  echo "Median of $starts cold starts per variant (after one unmeasured start each), the variants alternated: process start to the first"
  echo "200 on \`GET /ping\`, and VmRSS right after it. Δ bare: median of the differences to bare's start in the same round."
  echo "ReadyToRun rows: bare and the defaults app published \`-r linux-x64 --self-contained false -p:PublishReadyToRun=true\`"
  echo "(start-up only); the ↳ row: defaults, ReadyToRun minus bare, ReadyToRun, same round (what the library adds to such an app)."
  echo
  echo "| variant | first response ms, median (range) | Δ bare ms | RSS after it MiB | Δ bare MiB |"
  echo "|---|---:|---:|---:|---:|"
  awk -F'\t' -v order="${variants[*]} ${r2r_variants[*]}" \
    -v labels="$(for v in "${variants[@]}" "${r2r_variants[@]}"; do printf '%s|' "${label[$v]}"; done)" '
    function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    function med(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    # Medians of the per-round differences of v to base, over the rounds where both started: sets nd, ddm, ddk.
    function paired(v, base,   r, dm, dk) { nd = 0
      for (r = 1; r <= rounds; r++) if (((v, r) in ms) && ((base, r) in ms)) { dm[++nd] = ms[v, r] - ms[base, r]; dk[nd] = (kib[v, r] - kib[base, r]) / 1024 }
      if (nd) { ddm = med(dm, nd); ddk = med(dk, nd) } }
    NR == 1 { next }
    { ms[$2, $1] = $3; kib[$2, $1] = $4; if ($1 > rounds) rounds = $1 }
    END {
      nv = split(order, vs, " "); split(labels, ls, "|")
      for (j = 1; j <= nv; j++) { v = vs[j]; n = 0; nd = 0; delete a; delete m
        for (r = 1; r <= rounds; r++) { if (!((v, r) in ms)) continue
          a[++n] = ms[v, r]; m[n] = kib[v, r] / 1024 }
        if (n == 0) continue
        sort(a, n); lo = a[1]; hi = a[n]; x = med(a, n); y = med(m, n)
        if (v != "bare") paired(v, "bare")
        printf "| %s | %.0f (%.0f–%.0f) | %s | %.1f | %s |\n", ls[j], x, lo, hi, nd ? sprintf("%+.0f", ddm) : "–", y, nd ? sprintf("%+.1f", ddk) : "–"
        if (v == "defaults-r2r") { paired(v, "bare-r2r"); if (nd) printf "| ↳ Δ bare, ReadyToRun | – | %+.0f | – | %+.1f |\n", ddm, ddk }
        if (v == "observability-defaults" && nd) { aim = sprintf("Issue 19'"'"'s aim for the defaults app (no database or Redis configured): first response within +50 ms and RSS within +10 MiB of bare: **%s** (%+.0f ms, %+.1f MiB).", (ddm <= 50 && ddk <= 10) ? "met" : "missed", ddm, ddk) }
      }
      if (aim != "") printf "\n%s\n", aim
    }' "$startup_tsv"
  echo

  if [[ -s "${otlp_tsv:-}" ]]; then
    echo "## OTLP receiver: what the tracing variants exported (http/protobuf, batched, every span sampled)"
    echo
    echo "Spans ÷ requests below 1 would mean the exporter dropped spans (its queue full): then the variant did less work than"
    echo "it should and its CPU figures flatter it. wrk counts completed requests only, so the up to $connections in flight when a"
    echo "window ends are traced but not counted: short runs read above 1. The receiver ran on CPU $client_cpu beside wrk:"
    echo "${receiver_cpu_s} s of CPU in the whole run."
    echo
    echo "| variant | spans received | requests served (wrk's count) | spans ÷ requests | export requests | bytes per span |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -F'\t' -v labels="$(label_pairs "${tracing_variants[@]}")" '
      BEGIN { n = split(labels, ls, "|"); for (i = 1; i <= n; i++) { split(ls[i], kv, "="); name[kv[1]] = kv[2] } }
      FILENAME ~ /served/ { served[$1] += $2; next }
      { v = substr($1, 2); printf "| %s | %d | %d | %.2f | %d | %.0f |\n", (v in name ? name[v] : v), $4, served[v], served[v] ? $4 / served[v] : 0, $2, $4 ? $3 / $4 : 0 }' \
      "$run_dir/served.tsv" "$otlp_tsv"
    echo
  fi

  echo "## Cardinality: $card_items distinct /api/items/{id} URLs + $card_unmatched unmatched paths"
  echo
  echo "| variant | series before | series after | new series | RSS before MiB | RSS after MiB | RSS growth MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' -v labels="$(label_pairs "${variants[@]}")" '
    BEGIN { n = split(labels, ls, "|"); for (i = 1; i <= n; i++) { split(ls[i], kv, "="); name[kv[1]] = kv[2] } }
    NR > 1 { printf "| %s | %s | %s | %s | %.1f | %.1f | %+.1f |\n", name[$1], $2, $3, ($2 == "-" ? "-" : $3 - $2), $4 / 1024, $5 / 1024, ($5 - $4) / 1024 }' "$cardinality_tsv"
  echo

  if ((!skip_micro)); then
    echo "## Micro-benchmarks (BenchmarkDotNet, MemoryDiagnoser)"
    echo
    for report in "$bdn_dir"/results/*-report-github.md; do
      [[ -f "$report" ]] || continue
      name=$(basename "$report" -report-github.md)
      echo "### ${name##*.}"
      echo
      # The environment block is printed once below; the table is what matters here.
      grep '^|' "$report"
      echo
    done
    echo '```'
    sed -n '/^BenchmarkDotNet v/,/^$/p' "$(ls "$bdn_dir"/results/*-report-github.md | head -n 1)" 2>/dev/null | sed '/^```/d' || true
    echo '```'
    echo
  fi

  echo "## Machine and versions"
  echo
  echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores; servers on CPU $server_cpu, wrk on CPU $client_cpu"
  echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); load average at start ${load_avg_start:-?}, at end $load_avg_end; hypervisor steal during the paired rounds: CPU $server_cpu ${steal_server:-?}, CPU $client_cpu ${steal_client:-?}"
  echo "- .NET SDK $(dotnet --version), runtime $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {v = $2} END {print v}'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "- Packages: $(grep -rhoE 'Include="(prometheus-net.AspNetCore|Serilog[A-Za-z.]*|OpenTelemetry[A-Za-z.]*|BenchmarkDotNet)" Version="[^"]+"' benchmarks src/Observability.AspNetCore/*.csproj |
    sed -E 's/Include="([^"]+)" Version="([^"]+)"/\1 \2/' | sort -u | paste -sd, - | sed 's/,/, /g')"
  if command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
    echo "- Commit: $(git rev-parse --short HEAD)$( [[ -n "$(git status --porcelain -- src benchmarks 2>/dev/null)" ]] && echo ' + uncommitted changes in src/ or benchmarks/')"
    echo "- Code measured: $(bash eng/bench-code-id.sh 2>/dev/null || echo unknown) (eng/bench-code-id.sh; eng/bench-pool.sh pools runs that share it)"
  fi
  echo "- Command: \`bash eng/bench.sh$( ((smoke)) && echo ' --smoke')$( ((skip_micro)) && echo ' --skip-micro') --rounds $rounds --window $window --connections $connections --order $order\`; total $(( $(date +%s) - started_at )) s"
} >"$results"

cat "$results"
log "results: $results (raw windows: $windows_tsv)"
