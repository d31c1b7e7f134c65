#!/usr/bin/env bash
# Renders the monitoring assets for an app that publishes its metrics under Observability:Metrics:Prefix:
#
#   bash deploy/render.sh --prefix shop --out monitoring/     # shop_http_requests_total, shop_app_info, ...
#   bash deploy/render.sh --out /tmp/plain                    # no prefix: byte for byte the committed files
#   bash deploy/render.sh --availability 99.5 --latency-objective 95 --latency-threshold 1 --out monitoring/
#
# Writes, under --out, the same layout as deploy/:
#   prometheus/alerts.yml, prometheus/alerts.test.yml    alert rules and their `promtool test rules` cases; the SLO
#                                                        recording rules, burn-rate alerts and their cases are the
#                                                        part between the SLO markers, written here from the objectives
#   grafana/dashboards/*.json                            the dashboards (the job variable reads <prefix>app_info)
#   kubernetes/deployment.yaml                           the Deployment excerpt, with Observability__Metrics__Prefix set
#   kubernetes/{service,servicemonitor,podmonitor}.yaml  the Service and the Prometheus Operator's scrape objects
#   kubernetes/prometheusrule.yaml                       the rules above as a PrometheusRule (written here)
#
# The committed files under deploy/ are the source and the no-prefix rendering (a test checks that rendering without
# a prefix reproduces them). The prefix goes on exactly the families the app prefixes (docs/metrics.md, the prefix
# rule): every row of the metrics reference table, plus the bridged System.Diagnostics.Metrics families
# listed below. Names Prometheus writes itself (up, scrape_*, ALERTS) keep theirs. Needs bash and GNU sed only.
set -euo pipefail

# Bridged meter families (Kestrel's, Npgsql's, ...) that the assets use. The app prefixes every bridged family, but
# only these names can be told apart from label names of the same shape (db_client_connection_pool_name is a label).
bridged_families=(
  db_client_connection_count_value db_client_connection_max
  kestrel_connection_duration_seconds kestrel_rejected_connections_total kestrel_active_connections
)

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reference="$(dirname "$deploy_dir")/docs/metrics.md"

usage() {
  cat <<'EOF'
Usage: bash deploy/render.sh [--prefix PREFIX] --out DIR

  --prefix PREFIX   the app's Observability:Metrics:Prefix (letters, digits, '_'; not starting with a digit);
                    '_' is appended when missing, as the app does. Default: none.
  --out DIR         where to write the rendered files (created if missing; not deploy/ itself).
  --availability PERCENT
                    availability objective: the share of requests answered without a 5xx, per service and route,
                    over 30 days; from 95 up to, not including, 100. Default: 99.9.
  --latency-objective PERCENT
                    latency objective: the share of requests answered within --latency-threshold, per service and
                    route, over 30 days; from 95 up to, not including, 100. Default: 99.
  --latency-threshold SECONDS
                    the latency objective's threshold: one of the bucket bounds of http_request_duration_seconds
                    (Observability:Metrics:DurationBuckets, by default 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10).
                    Default: 0.5.
EOF
}

die() {
  printf 'deploy/render.sh: %s\n' "$*" >&2
  exit 2
}

prefix=""
out=""
availability=99.9
latency_objective=99
latency_threshold=0.5
while (($# > 0)); do
  case "$1" in
    --prefix) (($# >= 2)) || die "--prefix needs a value"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --out) (($# >= 2)) || die "--out needs a value"; out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --availability) (($# >= 2)) || die "--availability needs a value"; availability="$2"; shift 2 ;;
    --availability=*) availability="${1#--availability=}"; shift ;;
    --latency-objective) (($# >= 2)) || die "--latency-objective needs a value"; latency_objective="$2"; shift 2 ;;
    --latency-objective=*) latency_objective="${1#--latency-objective=}"; shift ;;
    --latency-threshold) (($# >= 2)) || die "--latency-threshold needs a value"; latency_threshold="$2"; shift 2 ;;
    --latency-threshold=*) latency_threshold="${1#--latency-threshold=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

[[ -n "$out" ]] || { usage >&2; die "--out is required"; }

# The same rule as the app's startup validation of Observability:Metrics:Prefix, and the same normalisation.
if [[ -n "$prefix" ]]; then
  [[ "$prefix" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    die "--prefix must start with a letter or '_' and contain only letters, digits and '_'; was '$prefix'"
  [[ "$prefix" == *_ ]] || prefix="${prefix}_"
fi

# Below 95% a 14.4x burn (the fast page) would need more than 72% failures: the alerts could hardly fire.
for objective in availability latency_objective; do
  value="${!objective}"
  [[ "$value" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$value" 'BEGIN { exit !(v >= 95 && v < 100) }' ||
    die "--${objective//_/-} must be a percentage from 95 up to, not including, 100 (e.g. 99.9); was '$value'"
done

# The latency SLI counts requests in the bucket whose upper bound is the threshold; the le label spells it this way.
duration_buckets=(0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10)
[[ " ${duration_buckets[*]} " == *" $latency_threshold "* ]] ||
  die "--latency-threshold must be one of the request-duration bucket bounds (${duration_buckets[*]}) written as there; was '$latency_threshold'"

out_abs="$(realpath -m -- "$out")"
[[ "$out_abs" != "$deploy_dir" ]] || die "--out must not be deploy/ itself: the committed files there are the source"

# The families the app prefixes: the first column of the metrics reference table in docs/metrics.md.
mapfile -t families < <(
  sed -n '/<!-- metrics-reference:start -->/,/<!-- metrics-reference:end -->/p' "$reference" |
    sed -nE 's/^\| `([a-z_][a-z0-9_]*)` \|.*$/\1/p'
)
((${#families[@]} > 0)) || die "no metric families found between the metrics-reference markers of $reference"
families+=("${bridged_families[@]}")

# One pass per file: a family name, or a histogram series of one (_bucket, _sum, _count), as a whole word. Family
# names and the prefix are [A-Za-z0-9_] only, so neither needs escaping in the sed expression.
alternatives="$(IFS='|'; printf '%s' "${families[*]}")"
rename="s/\\<(${alternatives})(_bucket|_sum|_count)?\\>/${prefix}&/g"
# The SLO part's recorded names (job:…: and job_endpoint:…:, which the dashboard reads) carry it on their metric part;
# done first, so a family inside one (job_endpoint:http_request_duration_seconds:…) is then left alone.
recorded="s/\\<(job|job_endpoint):([a-z][a-z0-9_]*):/\\1:${prefix}\\2:/g"

# --- The SLO part of the rules and their tests --------------------------------------------------------------------
# Written here rather than kept in deploy/: its numbers follow from the objectives. It is written with the prefix in
# place and spliced in after the renaming of the committed text. Recorded names follow the level:metric:operations
# convention; their metric part carries the prefix, as every name the app publishes does.

calc() { awk "BEGIN { printf \"%.10g\", $1 }"; }

requests="${prefix}http_requests_total"
duration="${prefix}http_request_duration_seconds"
windows=(5m 30m 1h 2h 6h 1d 3d)
availability_budget="$(calc "(100 - $availability) / 100")"
latency_budget="$(calc "(100 - $latency_objective) / 100")"

# An objective's facts: $1 Availability or Latency. Sets slo, budget, metric (the recorded ratio), bad (what a bad
# request is), objective (the sentence naming the target) and look (where to look when it fires).
objective_facts() {
  if [[ "$1" == Availability ]]; then
    slo=availability budget="$availability_budget" metric="job_endpoint:${prefix}http_requests_errors"
    bad="5xx answers" objective="the ${availability}% availability objective"
    look="Search the logs for @l=Error and Route=ENDPOINT."
  else
    slo=latency budget="$latency_budget" metric="job_endpoint:${prefix}http_requests_slow"
    bad="answers slower than ${latency_threshold}s" objective="the objective of ${latency_objective}% within ${latency_threshold}s"
    look="Search the logs for SlowRequest events with Route=ENDPOINT."
  fi
}

# The annotations of $1 (Availability/Latency) $2 (Fast/Slow) with JOB, ENDPOINT and VALUE replaced by $3, $4, $5.
annotations() {
  objective_facts "$1"
  local summary description pace
  if [[ "$2" == Fast ]]; then
    summary="JOB: ENDPOINT burns its ${slo} budget at VALUEx, fast (${bad})"
    pace="at 6 to 14.4 times what ${objective} allows; at this pace the 30-day budget is gone within 5 days"
  else
    summary="JOB: ENDPOINT burns its ${slo} budget at VALUEx (${bad})"
    pace="at 1 to 3 times what ${objective} allows; at this pace the 30-day budget is gone within 30 days"
  fi
  description="Service JOB: ${bad} on ENDPOINT ${pace}. ${look}"
  local text
  for text in "summary: \"$summary\"" "description: \"$description\""; do
    text="${text//JOB/$3}"
    text="${text//ENDPOINT/$4}"
    printf '%s\n' "${text//VALUE/$5}"
  done
}

burn_alerts() {
  objective_facts "$1"
  cat <<EOF
      - alert: ${1}BudgetFastBurn
        # 14.4x spends 2% of the 30-day budget in 1 hour, 6x spends 5% in 6 hours: page.
        expr: |
          (
            ${metric}:ratio_rate1h / ${budget} > 14.4
            and ${metric}:ratio_rate5m / ${budget} > 14.4
          )
          or
          (
            ${metric}:ratio_rate6h / ${budget} > 6
            and ${metric}:ratio_rate30m / ${budget} > 6
          )
        for: 2m
        labels:
          severity: critical
          slo: ${slo}
        annotations:
EOF
  annotations "$1" Fast '{{ $labels.job }}' '{{ $labels.endpoint }}' '{{ printf `%.1f` $value }}' | sed 's/^/          /'
  objective_facts "$1"
  cat <<EOF

      - alert: ${1}BudgetSlowBurn
        # 3x spends 10% of the budget in a day, 1x all of it in 30 days: a ticket, not a page.
        expr: |
          (
            ${metric}:ratio_rate1d / ${budget} > 3
            and ${metric}:ratio_rate2h / ${budget} > 3
          )
          or
          (
            ${metric}:ratio_rate3d / ${budget} > 1
            and ${metric}:ratio_rate6h / ${budget} > 1
          )
        for: 15m
        labels:
          severity: warning
          slo: ${slo}
        annotations:
EOF
  annotations "$1" Slow '{{ $labels.job }}' '{{ $labels.endpoint }}' '{{ printf `%.1f` $value }}' | sed 's/^/          /'
}

slo_rules() {
  cat <<EOF
  # BEGIN SLO rules: deploy/render.sh writes this part from its objectives (--availability ${availability}
  # --latency-objective ${latency_objective} --latency-threshold ${latency_threshold}); render again to change them.
  # Availability: ${availability}% of the requests of each service and route answered without a 5xx over 30 days.
  # Latency: ${latency_objective}% of them answered within ${latency_threshold}s (a bucket bound of the request-duration histogram).
  # Burn rate = the share of bad requests / the share the objective allows (each alert's value). Multi-window, multi-burn-rate alerts as in
  # the SRE workbook: the long window measures the burn, the short one clears the alert soon after the burn stops.
  - name: observability-aspnetcore-slo-recording
    rules:
      # Per service, and per service and route, summed over instances.
      - record: job:${prefix}http_requests:rate5m
        expr: sum by (job) (rate(${requests}[5m]))
      - record: job_endpoint:${prefix}http_requests:rate5m
        expr: sum by (job, endpoint) (rate(${requests}[5m]))
      - record: job:${prefix}http_requests_errors:ratio_rate5m
        expr: |
          (
            sum by (job) (rate(${requests}{status=~"5.."}[5m]))
              or 0 * sum by (job) (rate(${requests}[5m]))
          )
            / sum by (job) (rate(${requests}[5m]))
      - record: job:${prefix}http_requests_slow:ratio_rate5m
        expr: |
          1 - (
            sum by (job) (rate(${duration}_bucket{le="${latency_threshold}"}[5m]))
              / sum by (job) (rate(${duration}_count[5m]))
          )
      - record: job_endpoint:${prefix}http_request_duration_seconds:p95_rate5m
        expr: histogram_quantile(0.95, sum by (job, endpoint, le) (rate(${duration}_bucket[5m])))
      # The two SLIs per service and route over the alerts' windows, and over the 30 days the budget is counted in.
      # A route without a 5xx has an error ratio of 0, not none: the dashboard shows its budget whole.
EOF
  local window
  for window in "${windows[@]}" 30d; do
    cat <<EOF
      - record: job_endpoint:${prefix}http_requests_errors:ratio_rate${window}
        expr: |
          (
            sum by (job, endpoint) (rate(${requests}{status=~"5.."}[${window}]))
              or 0 * sum by (job, endpoint) (rate(${requests}[${window}]))
          )
            / sum by (job, endpoint) (rate(${requests}[${window}]))
      - record: job_endpoint:${prefix}http_requests_slow:ratio_rate${window}
        expr: |
          1 - (
            sum by (job, endpoint) (rate(${duration}_bucket{le="${latency_threshold}"}[${window}]))
              / sum by (job, endpoint) (rate(${duration}_count[${window}]))
          )
EOF
  done
  cat <<EOF
      # What the dashboard shows: the burn rate over the last hour (1 spends the budget in exactly 30 days) and the
      # share of the 30 days' budget left (below 0: the objective is missed).
      - record: job_endpoint:${prefix}http_requests_errors:burn_rate1h
        expr: job_endpoint:${prefix}http_requests_errors:ratio_rate1h / ${availability_budget}
      - record: job_endpoint:${prefix}http_requests_errors:budget_remaining30d
        expr: 1 - job_endpoint:${prefix}http_requests_errors:ratio_rate30d / ${availability_budget}
      - record: job_endpoint:${prefix}http_requests_slow:burn_rate1h
        expr: job_endpoint:${prefix}http_requests_slow:ratio_rate1h / ${latency_budget}
      - record: job_endpoint:${prefix}http_requests_slow:budget_remaining30d
        expr: 1 - job_endpoint:${prefix}http_requests_slow:ratio_rate30d / ${latency_budget}

  - name: observability-aspnetcore-slo-alerts
    rules:
EOF
  burn_alerts Availability
  echo
  burn_alerts Latency
  echo "  # END SLO rules"
}

# One test of one objective: 1000 requests a minute for $4 minutes, $3 times the budget of them bad, evaluated at $5;
# the alerts named in $6 (Fast, Slow, both or none) fire, the others stay silent. $1 the objective, $2 the case.
burn_case() {
  local name="$1" case="$2" burn="$3" minutes="$4" at="$5" firing="$6"
  objective_facts "$name"
  local bad good value
  bad="$(calc "1000 * $burn * $budget")"
  good="$(calc "1000 - $bad")"
  value="$(awk "BEGIN { printf \"%.1f\", $burn }")"
  cat <<EOF

  - name: ${case}
    interval: 1m
    input_series:
EOF
  local labels='job="api",instance="a:80",method="GET",endpoint="/api/items"'
  if [[ "$name" == Availability ]]; then
    printf "      - series: '%s{%s,status=\"500\"}'\n        values: '0+%sx%s'\n" "$requests" "$labels" "$bad" "$minutes"
    printf "      - series: '%s{%s,status=\"200\"}'\n        values: '0+%sx%s'\n" "$requests" "$labels" "$good" "$minutes"
  else
    printf "      - series: '%s_bucket{%s,status=\"200\",le=\"%s\"}'\n        values: '0+%sx%s'\n" "$duration" "$labels" "$latency_threshold" "$good" "$minutes"
    printf "      - series: '%s_count{%s,status=\"200\"}'\n        values: '0+1000x%s'\n" "$duration" "$labels" "$minutes"
  fi
  printf '    alert_rule_test:\n'
  local speed severity
  for speed in Fast Slow; do
    printf '      - eval_time: %s\n        alertname: %sBudget%sBurn\n' "$at" "$name" "$speed"
    if [[ "$firing" != *"$speed"* ]]; then
      printf '        exp_alerts: []\n'
      continue
    fi
    severity=critical
    [[ "$speed" == Slow ]] && severity=warning
    printf '        exp_alerts:\n          - exp_labels: { severity: %s, slo: %s, job: api, endpoint: /api/items }\n' "$severity" "$slo"
    printf '            exp_annotations:\n'
    annotations "$name" "$speed" api /api/items "$value" | sed 's/^/              /'
  done
}

slo_rule_tests() {
  cat <<EOF
  # BEGIN SLO rule tests: deploy/render.sh writes this part with the SLO rules, for the same objectives.
  # Each objective: a fast burn (15x the budget) pages, a slow one (2x) only tickets, one inside the budget (0.5x) is silent.
  # The windows' ratios need no full window of data, so 25 minutes cover the for: of both alerts and keep promtool quick.
EOF
  local name
  for name in Availability Latency; do
    burn_case "$name" "${name}BudgetFastBurn pages, and the slow burn tickets, when 15x the budget fails" 15 25 20m "Fast Slow"
    burn_case "$name" "${name}BudgetSlowBurn tickets, and the fast burn stays silent, when 2x the budget fails" 2 25 20m Slow
    burn_case "$name" "${name} burn alerts stay silent when half the budget fails" 0.5 25 20m none
  done
  cat <<EOF

  - name: SLO recording rules sum the instances, methods and statuses of a service per route
    interval: 1m
    input_series:
      - series: '${requests}{job="api",instance="a:80",method="GET",endpoint="/api/items",status="500"}'
        values: '0+6x10'
      - series: '${requests}{job="api",instance="a:80",method="GET",endpoint="/api/items",status="200"}'
        values: '0+54x10'
      - series: '${requests}{job="api",instance="b:80",method="POST",endpoint="/api/items",status="201"}'
        values: '0+60x10'
      - series: '${requests}{job="api",instance="b:80",method="GET",endpoint="/api/other",status="200"}'
        values: '0+120x10'
    promql_expr_test:
      - expr: job_endpoint:${prefix}http_requests:rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'job_endpoint:${prefix}http_requests:rate5m{job="api",endpoint="/api/items"}'
            value: 2
          - labels: 'job_endpoint:${prefix}http_requests:rate5m{job="api",endpoint="/api/other"}'
            value: 2
      - expr: job:${prefix}http_requests:rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'job:${prefix}http_requests:rate5m{job="api"}'
            value: 4
      - expr: job_endpoint:${prefix}http_requests_errors:ratio_rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'job_endpoint:${prefix}http_requests_errors:ratio_rate5m{job="api",endpoint="/api/items"}'
            value: 0.05
          - labels: 'job_endpoint:${prefix}http_requests_errors:ratio_rate5m{job="api",endpoint="/api/other"}'
            value: 0
      - expr: job_endpoint:${prefix}http_requests_errors:burn_rate1h
        eval_time: 10m
        exp_samples:
          - labels: 'job_endpoint:${prefix}http_requests_errors:burn_rate1h{job="api",endpoint="/api/items"}'
            value: $(awk "BEGIN { printf \"%.17g\", 0.05 / $availability_budget }")
          - labels: 'job_endpoint:${prefix}http_requests_errors:burn_rate1h{job="api",endpoint="/api/other"}'
            value: 0
      - expr: job_endpoint:${prefix}http_requests_errors:budget_remaining30d
        eval_time: 10m
        exp_samples:
          - labels: 'job_endpoint:${prefix}http_requests_errors:budget_remaining30d{job="api",endpoint="/api/items"}'
            value: $(awk "BEGIN { printf \"%.17g\", 1 - 0.05 / $availability_budget }")
          - labels: 'job_endpoint:${prefix}http_requests_errors:budget_remaining30d{job="api",endpoint="/api/other"}'
            value: 1
  # END SLO rule tests
EOF
}

# Replaces the part of $1 between its "  # BEGIN SLO" and "  # END SLO" lines, those included, with stdin.
splice_slo() {
  local file="$1" generated
  generated="$(cat)"
  (($(grep -c '^  # BEGIN SLO' "$file") == 1 && $(grep -c '^  # END SLO' "$file") == 1)) ||
    die "expected one '# BEGIN SLO' and one '# END SLO' line in $file"
  GENERATED="$generated" awk '
    /^  # BEGIN SLO/ { print ENVIRON["GENERATED"]; skip = 1; next }
    /^  # END SLO/ { skip = 0; next }
    !skip { print }' "$file" >"$file.tmp"
  mv "$file.tmp" "$file"
}

render() {
  local relative="$1"
  mkdir -p "$(dirname "$out_abs/$relative")"
  LC_ALL=C sed -E -e "$recorded" -e "$rename" "$deploy_dir/$relative" >"$out_abs/$relative"
}

render prometheus/alerts.yml
slo_rules | splice_slo "$out_abs/prometheus/alerts.yml"
render prometheus/alerts.test.yml
slo_rule_tests | splice_slo "$out_abs/prometheus/alerts.test.yml"
for dashboard in "$deploy_dir"/grafana/dashboards/*.json; do
  render "grafana/dashboards/$(basename "$dashboard")"
done
for manifest in "$deploy_dir"/kubernetes/*.yaml; do
  [[ "$(basename "$manifest")" == prometheusrule.yaml ]] || render "kubernetes/$(basename "$manifest")"
done

# The PrometheusRule carries the rendered rule file's groups as its spec.groups, so both are one source.
{
  cat <<'EOF'
# For the Prometheus Operator: the rules of prometheus/alerts.yml, written by deploy/render.sh (its spec.groups are that
# file's groups, comments included). Prometheus loads it by its ruleSelector: add the labels that selector expects.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: observability-aspnetcore
spec:
EOF
  sed -n '/^groups:/,$p' "$out_abs/prometheus/alerts.yml" | sed 's/^./  &/'
} >"$out_abs/kubernetes/prometheusrule.yaml"

# The Deployment excerpt configures the prefix the rendered assets expect, as the first variable of the container.
if [[ -n "$prefix" ]]; then
  deployment="$out_abs/kubernetes/deployment.yaml"
  env_line='^          env:$'
  (($(grep -c -- "$env_line" "$deployment") == 1)) || die "expected one container 'env:' line in kubernetes/deployment.yaml"
  LC_ALL=C sed -i "/$env_line/a\\
            - name: Observability__Metrics__Prefix\\
              value: \"${prefix%_}\"" "$deployment"
fi

printf 'rendered %s prefix into %s\n' "${prefix:-no}" "$out_abs"
