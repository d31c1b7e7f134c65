#!/usr/bin/env bash
# Renders the monitoring assets for an app that publishes its metrics under Observability:Metrics:Prefix:
#
#   bash deploy/render.sh --prefix shop --out monitoring/     # shop_http_requests_total, shop_app_info, ...
#   bash deploy/render.sh --out /tmp/plain                    # no prefix: byte for byte the committed files
#
# Writes, under --out, the same layout as deploy/:
#   prometheus/alerts.yml, prometheus/alerts.test.yml    alert rules and their `promtool test rules` cases
#   grafana/dashboards/*.json                            the dashboards (the job variable reads <prefix>app_info)
#   kubernetes/deployment.yaml                           the Deployment excerpt, with Observability__Metrics__Prefix set
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
EOF
}

die() {
  printf 'deploy/render.sh: %s\n' "$*" >&2
  exit 2
}

prefix=""
out=""
while (($# > 0)); do
  case "$1" in
    --prefix) (($# >= 2)) || die "--prefix needs a value"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --out) (($# >= 2)) || die "--out needs a value"; out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
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

render() {
  local relative="$1"
  mkdir -p "$(dirname "$out_abs/$relative")"
  LC_ALL=C sed -E "$rename" "$deploy_dir/$relative" >"$out_abs/$relative"
}

render prometheus/alerts.yml
render prometheus/alerts.test.yml
for dashboard in "$deploy_dir"/grafana/dashboards/*.json; do
  render "grafana/dashboards/$(basename "$dashboard")"
done
render kubernetes/deployment.yaml

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
