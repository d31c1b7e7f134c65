#!/usr/bin/env bash
# Pools the paired windows of several eng/bench.sh runs into one table, with a confidence interval for each median.
#
#   bash eng/bench-pool.sh artifacts/bench-1 artifacts/bench-2 ...   # work directories of finished runs
#
# Why: one run's median of 12 paired ratios moves by about +-0.07 on a shared machine (its interquartile ranges are
# 0.2-0.3 wide), so one run cannot tell 1.15x from 1.25x. The alternations of several runs of the same code are
# independent samples of the same paired ratio; pooled, their median is as precise as one long run's, without a run
# over 15 minutes. Each run's rounds stay paired within themselves: a window is only ever divided by the bare app's
# window of its own round in its own run.
#
# Prints markdown: the runs pooled (date, commit, steal, and each run's own medians for the defaults app, so the
# spread between runs is visible), then per endpoint every variant's pooled median, interquartile range and an
# approximate 95% confidence interval of the median (distribution-free, from order statistics: the ranks
# n/2 - 0.98 sqrt(n) and n/2 + 1 + 0.98 sqrt(n), rounded), and the defaults app per round against prometheus-net
# alone, the reference prototype (eng/bench.sh --variants ...,reference-prototype) and hand-assembled when they ran. The
# verdict on the bar says whether both intervals lie inside it, outside it, or straddle it; a second verdict says the
# same of the defaults app against the reference prototype, the design the issue took its bar from. When the tracing
# variants ran (--variants ...,defaults-tracing,otel-only), the cost of tracing (issue 21) per round:
# (defaults-tracing - bare) - [(otel-only - bare) + (defaults - bare)] CPU per request over bare's, against 0.
# Only runs that measured the same code are pooled (eng/bench-code-id.sh: src/, benchmarks/ and the build settings;
# commits that changed only docs, tests or scripts pool together); --allow-mixed-code overrides, and says so.
set -euo pipefail

die() { printf 'eng/bench-pool.sh: %s\n' "$*" >&2; exit 1; }

allow_mixed=0
dirs=()
while (($# > 0)); do
  case "$1" in
    --allow-mixed-code) allow_mixed=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) dirs+=("$1") ;;
  esac
  shift
done
((${#dirs[@]} > 0)) || die "name at least one work directory of a finished eng/bench.sh run (see --help)"
command -v awk >/dev/null || die "awk is not on PATH"

# The runs: each directory must hold a finished run (its windows and its results table).
files=()
codes=()
described=()
declare -A named=()
for d in "${dirs[@]}"; do
  [[ -d "$d" ]] || die "'$d' is not a directory"
  real=$(cd "$d" && pwd -P)
  [[ -z "${named[$real]:-}" ]] || die "'$d' is named twice: its rounds would count twice"
  named[$real]=1
  windows="$d/run/windows.tsv"
  results="$d/results.md"
  [[ -s "$windows" ]] || die "'$d' holds no windows ($windows is missing or empty): not a finished eng/bench.sh work directory"
  [[ -s "$results" ]] || die "'$d' holds no results.md: the run did not finish"
  head -n 1 "$windows" | grep -q $'^round\tendpoint\tvariant\trps\tcpu_us_per_req' ||
    die "$windows does not start with eng/bench.sh's header (round, endpoint, variant, rps, cpu_us_per_req, ...)"
  commit=$(awk -F'Commit: ' '/^- Commit: / {print $2; exit}' "$results")
  # The code measured: written by eng/bench.sh; for runs from before it was, derived from a clean commit.
  code=$(awk -F'Code measured: ' '/^- Code measured: / {split($2, id, " "); print id[1]; exit}' "$results")
  if [[ -z "$code" && "$commit" =~ ^[0-9a-f]+$ ]]; then
    code=$(bash "$(dirname "${BASH_SOURCE[0]}")/bench-code-id.sh" "$commit" 2>/dev/null || true)
  fi
  code="${code:-unknown}"
  [[ "$code" != *+uncommitted && "$code" != unknown ]] || ((allow_mixed)) ||
    die "'$d' measured uncommitted or unidentified code ($code): it is not pooled with anything (--allow-mixed-code forces it)"
  run_at=$(sed -n 's/^Run \([0-9-]* [0-9:]* UTC\);.*/\1/p' "$results" | head -n 1)
  steal=$(sed -n 's/.*hypervisor steal during the paired rounds: \(.*\)$/\1/p' "$results" | head -n 1)
  files+=("$windows")
  codes+=("$code")
  described+=("${run_at:-?}|${commit:-unknown}|${steal:-not reported}|$d")
done
distinct=$(printf '%s\n' "${codes[@]}" | sort -u | wc -l)
if ((distinct > 1 && !allow_mixed)); then
  die "the runs measured different code (${codes[*]}, by eng/bench-code-id.sh); pool runs of the same code, or pass --allow-mixed-code"
fi

awk -F'\t' -v runs="$(printf '%s\n' "${described[@]}")" -v mixed="$((distinct > 1))" -v code="$(printf '%s\n' "${codes[@]}" | sort -u | paste -sd, -)" '
  function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  function q(a, n, p,   h, lo) { if (n == 1) return a[1]; h = (n - 1) * p + 1; lo = int(h); return lo >= n ? a[n] : a[lo] + (h - lo) * (a[lo + 1] - a[lo]) }
  function add(key, x) { cnt[key]++; val[key, cnt[key]] = x }
  function load(key, a,   n, i) { n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i]; sort(a, n); return n }
  function med(key,   a, n) { n = load(key, a); return n ? q(a, n, 0.5) : 0 }
  # Median, interquartile range and the 95% interval of the median by order statistics; sets mid, lo95 and hi95.
  function stat(key,   a, n, j, k) {
    n = load(key, a); if (n == 0) { mid = lo95 = hi95 = 0; return "n/a" }
    j = int(n / 2 - 0.98 * sqrt(n) + 0.5); k = int(n / 2 + 1 + 0.98 * sqrt(n) + 0.5)
    if (j < 1) j = 1; if (k > n) k = n
    mid = q(a, n, 0.5); lo95 = a[j]; hi95 = a[k]
    return sprintf("%.2f (%.2f–%.2f) [%.2f–%.2f]", mid, q(a, n, 0.25), q(a, n, 0.75), lo95, hi95)
  }
  # The figures a verdict reads: median and 95% interval of req/s (x, xlo, xhi) and of CPU (c, clo, chi) for one key.
  function judge(key) { stat(key SUBSEP "rps"); x = mid; xlo = lo95; xhi = hi95; stat(key SUBSEP "cpu"); c = mid; clo = lo95; chi = hi95 }
  FNR == 1 { file++; next }
  {
    key = file SUBSEP $1 SUBSEP $2
    row[++rows] = key SUBSEP $3; rps[key, $3] = $4; cpu[key, $3] = $5; p99[key, $3] = $7
    ep[$2] = 1; seen[$3] = 1; if (!($3 in order)) order[$3] = ++nvariants
  }
  END {
    # Stacks the defaults app is also divided by, per round, when they ran.
    nrefs = split("prometheus-only reference-prototype hand-assembled", refs, " "); split("prometheus-net only|the reference prototype|hand-assembled", reflabel, "|")
    nr = split(runs, rl, "\n")
    print "## Pooled load benchmark"
    print ""
    printf "%d run%s of %s code (`%s`, by eng/bench-code-id.sh).\n", nr, nr == 1 ? "" : "s", mixed ? "different" : "the same", code
    print "Each window is divided by the bare app'"'"'s window of the same round of the same run; the ratios of all runs are then"
    print "pooled. Cells: median (interquartile range) [approximate 95% confidence interval of the median]."
    if (mixed) { print ""; print "**The runs measured different code** (--allow-mixed-code): the pool mixes versions." }
    print ""
    print "| run (UTC) | commit | steal | rounds | defaults CPU ÷ bare, items · ping | defaults req/s ÷ bare, items · ping | work directory |"
    print "|---|---|---|---:|---|---|---|"
    for (i = 1; i <= rows; i++) {
      split(row[i], f, SUBSEP); if (f[4] != "observability-defaults") continue
      k = f[1] SUBSEP f[2] SUBSEP f[3]; if (!((k, "bare") in cpu)) continue
      add("run" f[1] SUBSEP f[3] SUBSEP "cpu", cpu[k, f[4]] / cpu[k, "bare"]); add("run" f[1] SUBSEP f[3] SUBSEP "rps", rps[k, f[4]] / rps[k, "bare"])
      roundsof[f[1], f[3]]++
    }
    for (r = 1; r <= nr; r++) {
      split(rl[r], d, "|")
      printf "| %s | `%s` | %s | %d | %.2f · %.2f | %.2f · %.2f | `%s` |\n", d[1], d[2], d[3], roundsof[r, "items"],
        med("run" r SUBSEP "items" SUBSEP "cpu"), med("run" r SUBSEP "ping" SUBSEP "cpu"),
        med("run" r SUBSEP "items" SUBSEP "rps"), med("run" r SUBSEP "ping" SUBSEP "rps"), d[4]
    }
    print ""
    for (i = 1; i <= rows; i++) {
      split(row[i], f, SUBSEP); k = f[1] SUBSEP f[2] SUBSEP f[3]; v = f[4]
      if (!((k, "bare") in cpu)) continue
      add(f[3] SUBSEP v SUBSEP "rps", rps[k, v] / rps[k, "bare"]); add(f[3] SUBSEP v SUBSEP "cpu", cpu[k, v] / cpu[k, "bare"])
      add(f[3] SUBSEP v SUBSEP "p99", p99[k, v] / p99[k, "bare"])
      for (r = 1; r <= nrefs; r++) if (v == "observability-defaults" && (k, refs[r]) in cpu) {
        add(f[3] SUBSEP "vs" refs[r] SUBSEP "cpu", cpu[k, v] / cpu[k, refs[r]]); add(f[3] SUBSEP "vs" refs[r] SUBSEP "rps", rps[k, v] / rps[k, refs[r]])
      }
      if (v == "observability-defaults" && (k, "defaults-tracing") in cpu && (k, "otel-only") in cpu) {
        cb = cpu[k, "bare"]; ct = cpu[k, "defaults-tracing"]; co = cpu[k, "otel-only"]; cd = cpu[k, v]
        add(f[3] SUBSEP "excess", (ct - co - cd + cb) / cb); add(f[3] SUBSEP "tr", (ct - cb) / cb); add(f[3] SUBSEP "ot", (co - cb) / cb); add(f[3] SUBSEP "df", (cd - cb) / cb)
      }
    }
    for (v in order) byorder[order[v]] = v
    ne = split("items ping", es, " "); split("GET /api/items/{id}|GET /ping", els, "|")
    for (e = 1; e <= ne; e++) {
      if (!(es[e] in ep)) continue
      printf "### %s\n\n", els[e]
      print "| variant | alternations | req/s ÷ bare | CPU/req ÷ bare | p99 ÷ bare |"
      print "|---|---:|---|---|---|"
      for (o = 1; o <= nvariants; o++) { v = byorder[o]; k = es[e] SUBSEP v
        if (v == "bare" || !((k SUBSEP "cpu") in cnt)) continue
        printf "| %s | %d | %s | %s | %s |\n", v, cnt[k SUBSEP "cpu"], stat(k SUBSEP "rps"), stat(k SUBSEP "cpu"), stat(k SUBSEP "p99")
      }
      for (r = 1; r <= nrefs; r++) { k = es[e] SUBSEP "vs" refs[r]
        if ((k SUBSEP "cpu") in cnt) {
          printf "| observability-defaults ÷ %s (same round) | %d | %s | %s | |\n", reflabel[r], cnt[k SUBSEP "cpu"], stat(k SUBSEP "rps"), stat(k SUBSEP "cpu")
        }
      }
      print ""
      k = es[e] SUBSEP "observability-defaults"
      if ((k SUBSEP "cpu") in cnt) {
        judge(k)
        verdict = (x >= 0.85 && c <= 1.20) ? "met" : "missed"
        if (clo > 1.20 || xhi < 0.85) sure = "missed beyond the noise: an interval lies wholly outside the bar"
        else if (chi <= 1.20 && xlo >= 0.85) sure = "met beyond the noise: both intervals lie inside the bar"
        else sure = "not decided by these runs: an interval straddles the bar"
        printf "Bar (≥ 0.85× req/s, ≤ 1.20× CPU/req) on the pooled medians: **%s** (%.2f×, %.2f×); %s (req/s [%.2f–%.2f], CPU [%.2f–%.2f]).\n\n", verdict, x, c, sure, xlo, xhi, clo, chi
      }
      # The reference the bar was taken from ("at least as good as that prototype"), judged in the same rounds.
      k = es[e] SUBSEP "vsreference-prototype"
      if ((k SUBSEP "cpu") in cnt) {
        judge(k)
        if (clo > 1 || xhi < 1) sure = "costlier beyond the noise: an interval lies wholly on the worse side of 1"
        else if (chi < 1 && xlo > 1) sure = "cheaper beyond the noise: both intervals lie on the better side of 1"
        else sure = "no difference these runs can tell: an interval contains 1"
        printf "Against the reference prototype in the same rounds (the bar'"'"'s \"at least as good as that prototype\"): %.2f× req/s, %.2f× CPU/req; %s (req/s [%.2f–%.2f], CPU [%.2f–%.2f]).\n\n", x, c, sure, xlo, xhi, clo, chi
      }
      # Issue 21: our defaults plus tracing against OpenTelemetry'"'"'s instrumentation alone plus our defaults'"'"' overhead.
      k = es[e] SUBSEP "excess"
      if (k in cnt) {
        stat(k); m = mid
        if (cnt[k] < 5) sure = "too few rounds to tell it from the noise"
        else if (hi95 < 0) sure = "cheaper beyond the noise: the interval lies below 0"
        else if (lo95 > 0) sure = "costlier beyond the noise: the interval lies above 0"
        else sure = "no difference these runs can tell: the interval contains 0"
        printf "Tracing (issue 21), extra CPU/req over bare'"'"'s, per round: defaults + tracing %+.2f, OpenTelemetry alone %+.2f, defaults %+.2f; ", med(es[e] SUBSEP "tr"), med(es[e] SUBSEP "ot"), med(es[e] SUBSEP "df")
        printf "excess = (defaults-tracing − bare) − [(otel-only − bare) + (defaults − bare)] = **%+.2f** [%+.2f–%+.2f] over %d rounds. Aim (excess ≤ 0): **%s**; %s.\n\n", m, lo95, hi95, cnt[k], (m <= 0 ? "met" : "missed"), sure
      }
    }
  }' "${files[@]}"
