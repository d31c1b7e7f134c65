using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The structure of the files no tool here validates for us: the compose file (it cannot run on the build machine),
/// the Grafana provisioning and dashboards, the Kubernetes excerpt; and the two readers the other deploy tests rely on.
/// </summary>
public sealed partial class DeployFileChecksTests
{
    /// <summary>The files and directories the compose file may mount: each is validated by a test of this folder.</summary>
    private static readonly string[] ValidatedMounts =
    [
        "prometheus/prometheus.yml",
        "prometheus/alerts.yml",
        "alertmanager/alertmanager.yml",
        "grafana/provisioning",
        "grafana/dashboards",
    ];

    private static readonly string[] KnownPanelTypes = ["row", "timeseries", "stat", "state-timeline", "gauge", "table", "bargauge"];

    // --- docker-compose.monitoring.yml ---------------------------------------------------------------------------------

    [Fact]
    public void Compose_mounts_only_existing_files_that_the_tests_validate()
    {
        var mounts = ComposeServices()
            .SelectMany(s => (s.Value!["volumes"]?.AsArray() ?? []).Select(v => (Service: s.Key, Volume: v!.GetValue<string>())))
            .ToList();

        Assert.NotEmpty(mounts);
        foreach (var (service, volume) in mounts)
        {
            var parts = volume.Split(':');
            Assert.True(parts.Length is 2 or 3 && (parts.Length == 2 || parts[2] == "ro"), $"{service}: volume '{volume}' is not source:target[:ro]");
            Assert.True(parts[0].StartsWith("./", StringComparison.Ordinal), $"{service}: volume '{volume}' is not a file of deploy/ (named volumes are not expected)");
            Assert.Equal("ro", parts.ElementAtOrDefault(2));

            var source = parts[0][2..];
            Assert.Contains(source, ValidatedMounts);
            var path = DeployFiles.Deploy(source);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"{service}: '{volume}' mounts {path}, which does not exist");
        }

        // Everything validated is mounted somewhere, so the stack runs what the tests check.
        Assert.Equal(ValidatedMounts.Order(StringComparer.Ordinal), mounts.Select(m => m.Volume.Split(':')[0][2..]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compose_wires_prometheus_alertmanager_and_grafana_to_each_other_and_to_the_sample()
    {
        var services = ComposeServices();
        Assert.Equal(["alertmanager", "grafana", "prometheus"], services.Select(s => s.Key).Order(StringComparer.Ordinal));
        foreach (var service in services.Select(s => s.Value!))
        {
            Assert.Matches(PinnedImage(), service["image"]!.GetValue<string>());
            Assert.NotEmpty(service["ports"]!.AsArray());
        }

        // Prometheus: its config and the rule file it loads (relative to the config) are mounted where --config.file points.
        var prometheus = services["prometheus"]!;
        var configPath = Flag(prometheus, "--config.file");
        var prometheusMounts = Mounts(prometheus);
        Assert.Equal("./prometheus/prometheus.yml", prometheusMounts[configPath]);
        var prometheusConfig = Yaml.ParseFile(DeployFiles.PrometheusConfig)!.AsObject();
        foreach (var ruleFile in prometheusConfig["rule_files"]!.AsArray())
        {
            var inContainer = Path.Combine(Path.GetDirectoryName(configPath)!, ruleFile!.GetValue<string>()).Replace('\\', '/');
            Assert.Equal("./prometheus/" + ruleFile.GetValue<string>(), prometheusMounts[inContainer]);
        }

        // ... it sends alerts to the alertmanager service, on the port that one listens on ...
        var alertmanagerTarget = prometheusConfig["alerting"]!["alertmanagers"]![0]!["static_configs"]![0]!["targets"]![0]!.GetValue<string>();
        Assert.Equal("alertmanager:9093", alertmanagerTarget);
        var alertmanager = services["alertmanager"]!;
        Assert.Contains("9093:9093", alertmanager["ports"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal("./alertmanager/alertmanager.yml", Mounts(alertmanager)[Flag(alertmanager, "--config.file")]);

        // ... and scrapes the sample on the host, which the container reaches through host.docker.internal.
        var scrape = Assert.Single(prometheusConfig["scrape_configs"]!.AsArray())!;
        Assert.Equal("/metrics", scrape["metrics_path"]!.GetValue<string>());
        Assert.Equal(DeployFiles.ShippedTarget, scrape["static_configs"]![0]!["targets"]![0]!.GetValue<string>());
        Assert.Contains("host.docker.internal:host-gateway", prometheus["extra_hosts"]!.AsArray().Select(h => h!.GetValue<string>()));

        // Grafana: the provisioning directory where Grafana reads it, the dashboards where the provider looks, Prometheus by service name.
        var grafana = services["grafana"]!;
        var grafanaMounts = Mounts(grafana);
        Assert.Equal("./grafana/provisioning", grafanaMounts["/etc/grafana/provisioning"]);
        var provider = Assert.Single(Yaml.ParseFile(DeployFiles.GrafanaDashboardProviders)!["providers"]!.AsArray())!;
        Assert.Equal("./grafana/dashboards", grafanaMounts[provider["options"]!["path"]!.GetValue<string>()]);
        var dataSource = Assert.Single(Yaml.ParseFile(DeployFiles.GrafanaDataSources)!["datasources"]!.AsArray())!;
        Assert.Equal("http://prometheus:9090", dataSource["url"]!.GetValue<string>());
        Assert.Contains("9090:9090", prometheus["ports"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Contains("prometheus", grafana["depends_on"]!.AsArray().Select(d => d!.GetValue<string>()));
    }

    // --- Grafana --------------------------------------------------------------------------------------------------------

    [Fact]
    public void Grafana_provisioning_defines_the_data_source_uid_the_dashboards_use_and_loads_the_dashboard_files()
    {
        var dataSources = Yaml.ParseFile(DeployFiles.GrafanaDataSources)!.AsObject();
        Assert.Equal("1", dataSources["apiVersion"]!.GetValue<string>());
        var dataSource = Assert.Single(dataSources["datasources"]!.AsArray())!;
        Assert.Equal(DeployFiles.DataSourceUid, dataSource["uid"]!.GetValue<string>());
        Assert.Equal("prometheus", dataSource["type"]!.GetValue<string>());
        Assert.Equal("proxy", dataSource["access"]!.GetValue<string>());

        var providers = Yaml.ParseFile(DeployFiles.GrafanaDashboardProviders)!.AsObject();
        Assert.Equal("1", providers["apiVersion"]!.GetValue<string>());
        var provider = Assert.Single(providers["providers"]!.AsArray())!;
        Assert.Equal("file", provider["type"]!.GetValue<string>());
        Assert.StartsWith("/", provider["options"]!["path"]!.GetValue<string>(), StringComparison.Ordinal);

        // Only dashboards in the mounted directory: Grafana would try to load anything else there too.
        Assert.All(Directory.GetFileSystemEntries(DeployFiles.GrafanaDashboardsDirectory), f => Assert.EndsWith(".json", f, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_dashboard_panel_and_query_uses_the_datasource_variable_which_defaults_to_the_provisioned_one()
    {
        var uid = Assert.Single(Yaml.ParseFile(DeployFiles.GrafanaDataSources)!["datasources"]!.AsArray())!["uid"]!.GetValue<string>();
        foreach (var file in DeployFiles.DashboardFiles())
        {
            var dashboard = DeployFiles.LoadDashboard(file);
            foreach (var panel in DeployFiles.Panels(dashboard).Where(p => Type(p) != "row"))
            {
                AssertDataSource(panel["datasource"], $"{Path.GetFileName(file)} panel '{panel["title"]}'");
                foreach (var target in panel["targets"]!.AsArray())
                {
                    AssertDataSource(target!["datasource"], $"{Path.GetFileName(file)} panel '{panel["title"]}' target {target["refId"]}");
                }
            }

            // Any Prometheus data source can be picked (an existing Grafana's need not have the provisioned uid).
            var variables = dashboard["templating"]!["list"]!.AsArray();
            var dataSource = variables.Single(v => v!["name"]!.GetValue<string>() == "datasource")!;
            Assert.Equal("datasource", dataSource["type"]!.GetValue<string>());
            Assert.Equal("prometheus", dataSource["query"]!.GetValue<string>());
            Assert.Equal(uid, dataSource["current"]!["value"]!.GetValue<string>());
            foreach (var variable in variables.Where(v => v!["type"]!.GetValue<string>() != "datasource"))
            {
                AssertDataSource(variable!["datasource"], $"{Path.GetFileName(file)} variable {variable["name"]}");
            }
        }

        static void AssertDataSource(JsonNode? node, string where)
        {
            Assert.True(node is JsonObject, $"{where}: no datasource object");
            Assert.Equal("prometheus", node!["type"]?.GetValue<string>());
            Assert.True(node["uid"]?.GetValue<string>() == "${datasource}", $"{where}: datasource uid '{node["uid"]}', not the variable '${{datasource}}'");
        }
    }

    [Fact]
    public void Dashboard_is_schema_39_with_datasource_job_and_instance_variables_and_well_formed_panels()
    {
        foreach (var file in DeployFiles.DashboardFiles())
        {
            var name = Path.GetFileName(file);
            var dashboard = DeployFiles.LoadDashboard(file);
            Assert.Equal(39, dashboard["schemaVersion"]!.GetValue<int>());
            Assert.Matches(DashboardUid(), dashboard["uid"]!.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(dashboard["title"]?.GetValue<string>()), $"{name}: no title");
            Assert.Null(dashboard["id"]);

            var variables = dashboard["templating"]!["list"]!.AsArray();
            Assert.Equal(["datasource", "job", "instance"], variables.Select(v => v!["name"]!.GetValue<string>()));
            foreach (var (variable, expected) in variables.Skip(1).Zip(["label_values(app_info, job)", "label_values(app_info{job=~\"$job\"}, instance)"]))
            {
                Assert.Equal("query", variable!["type"]!.GetValue<string>());
                var query = variable["query"] is JsonObject q ? q["query"]!.GetValue<string>() : variable["query"]!.GetValue<string>();
                Assert.Equal(expected, query);
                Assert.Equal(expected, variable["definition"]?.GetValue<string>());
                Assert.True(variable["multi"]!.GetValue<bool>() && variable["includeAll"]!.GetValue<bool>(), $"{variable["name"]}: not multi-select with All");
                Assert.Equal(".+", variable["allValue"]?.GetValue<string>());
            }

            var panels = DeployFiles.Panels(dashboard).ToList();
            Assert.Equal(panels.Count, panels.Select(p => p["id"]!.GetValue<int>()).Distinct().Count());
            var cells = new HashSet<(int X, int Y)>();
            foreach (var panel in panels)
            {
                var title = panel["title"]?.GetValue<string>();
                Assert.False(string.IsNullOrWhiteSpace(title), $"{name}: panel {panel["id"]} has no title");
                Assert.Contains(Type(panel), KnownPanelTypes);

                // On the 24-column grid and overlapping no other panel.
                var grid = panel["gridPos"]!;
                var (x, y, w, h) = (grid["x"]!.GetValue<int>(), grid["y"]!.GetValue<int>(), grid["w"]!.GetValue<int>(), grid["h"]!.GetValue<int>());
                Assert.True(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, $"{name}: panel '{title}' gridPos {grid.ToJsonString()}");
                for (var i = x; i < x + w; i++)
                {
                    for (var j = y; j < y + h; j++)
                    {
                        Assert.True(cells.Add((i, j)), $"{name}: panel '{title}' overlaps another panel at ({i}, {j})");
                    }
                }

                if (Type(panel) == "row")
                {
                    Assert.Null(panel["targets"]);
                    continue;
                }

                var targets = panel["targets"]!.AsArray();
                Assert.NotEmpty(targets);
                Assert.Equal(targets.Count, targets.Select(t => t!["refId"]!.GetValue<string>()).Distinct(StringComparer.Ordinal).Count());
                Assert.False(string.IsNullOrWhiteSpace(panel["description"]?.GetValue<string>()), $"{name}: panel '{title}' has no description");
            }
        }
    }

    [Fact]
    public void Every_dashboard_query_filters_every_selector_by_the_job_and_instance_variables_and_uses_no_grafana_macro()
    {
        foreach (var query in DeployFiles.PanelQueries())
        {
            Assert.False(string.IsNullOrWhiteSpace(query.Expr), $"{query}: empty expr");

            // $job and $instance are the only variables: no $__rate_interval, $__interval, ... so the tests can run the
            // expression as is.
            foreach (Match variable in Variable().Matches(query.Expr))
            {
                Assert.True(variable.Value is "$job" or "$instance", $"{query}: uses {variable.Value} in {query.Expr}");
            }

            var selectors = PromQlNames.Selectors(query.Expr);
            Assert.NotEmpty(selectors);
            foreach (var selector in selectors)
            {
                Assert.True(selector.Matchers.Contains("job=~\"$job\"", StringComparison.Ordinal), $"{query}: {selector.Name}{selector.Matchers} is not filtered by job=~\"$job\" in {query.Expr}");
                if (DeployFiles.ReadRecordingRules().SingleOrDefault(r => r.Name == selector.Name) is { } recorded)
                {
                    // A recorded SLO series is per service (and route), summed over instances: $instance cannot apply.
                    Assert.DoesNotContain("instance", recorded.Level);
                    continue;
                }

                Assert.True(selector.Matchers.Contains("instance=~\"$instance\"", StringComparison.Ordinal), $"{query}: {selector.Name}{selector.Matchers} is not filtered by instance=~\"$instance\" in {query.Expr}");
            }
        }
    }

    [Fact]
    public void Dashboard_shows_every_view_the_issue_asks_for()
    {
        var queries = DeployFiles.PanelQueries();
        var exprs = queries.Select(q => q.Expr).ToList();
        var names = exprs.SelectMany(PromQlNames.Names).ToHashSet(StringComparer.Ordinal);

        // Request rate, error ratio, p50/p95/p99 latency by endpoint, in-progress requests.
        Assert.Contains(exprs, e => e.StartsWith("sum by (endpoint) (rate(http_requests_total{", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Contains("status=~\"5..\"", StringComparison.Ordinal) && e.Contains(" / ", StringComparison.Ordinal));
        foreach (var quantile in new[] { "0.5", "0.95", "0.99" })
        {
            Assert.Contains(exprs, e => e.StartsWith($"histogram_quantile({quantile}, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket{{", StringComparison.Ordinal));
        }

        // Slow requests and queries, the health of each dependency, CPU, memory and GC.
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "http_requests_in_progress", "http_slow_requests_total", "db_slow_queries_total", "health_check_status",
                "process_cpu_seconds_total", "process_resident_memory_bytes", "dotnet_gc_heap_size_bytes",
                "dotnet_gc_collections_total", "dotnet_gc_pause_seconds_total",
            },
            names);
        Assert.Contains(exprs, e => e.Contains("by (check)", StringComparison.Ordinal) && e.Contains("health_check_status", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_metric_family_the_package_emits_is_read_by_a_panel_and_the_slo_budgets_and_burn_rates_are_shown()
    {
        // The families of the metrics reference table and the bridged ones the assets use (render.sh's list).
        var families = Metrics.PrometheusToolsTests.ReadReferenceTable().Keys
            .Concat(BridgedFamilies().Match(File.ReadAllText(DeployFiles.Deploy("render.sh"))).Groups[1].Value
                .Split((char[])[' ', '\n'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        Assert.Contains("db_client_connection_max", families);
        Assert.Contains("log_lines_dropped_total", families);
        var read = DeployFiles.PanelQueries().SelectMany(q => PromQlNames.Names(q.Expr)).ToHashSet(StringComparer.Ordinal);

        var unread = families.Where(f => !new[] { "", "_bucket", "_sum", "_count" }.Any(s => read.Contains(f + s))).ToList();

        Assert.True(unread.Count == 0, $"No panel queries: {string.Join(", ", unread)}");

        // Both objectives: the budget left and the burn rate, from the series the SLO rules record.
        var recorded = DeployFiles.ReadRecordingRules().Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { "http_requests_errors", "http_requests_slow" }.SelectMany(m => new[] { $"job_endpoint:{m}:budget_remaining30d", $"job_endpoint:{m}:burn_rate1h" }))
        {
            Assert.Contains(name, read);
            Assert.Contains(name, recorded);
        }

        Assert.All(read.Where(n => n.Contains(':', StringComparison.Ordinal)), n => Assert.Contains(n, recorded));
    }

    // --- Kubernetes -----------------------------------------------------------------------------------------------------

    [Fact]
    public void Kubernetes_deployment_probes_the_health_endpoints_and_is_annotated_for_scraping()
    {
        var deployment = Yaml.ParseFile(DeployFiles.KubernetesDeployment)!.AsObject();
        Assert.Equal("apps/v1", deployment["apiVersion"]!.GetValue<string>());
        Assert.Equal("Deployment", deployment["kind"]!.GetValue<string>());
        var template = deployment["spec"]!["template"]!;
        Assert.Equal(
            DeployFiles.ToDictionary(deployment["spec"]!["selector"]!["matchLabels"]),
            DeployFiles.ToDictionary(template["metadata"]!["labels"]));

        var container = Assert.Single(template["spec"]!["containers"]!.AsArray())!;
        var port = Assert.Single(container["ports"]!.AsArray())!;
        var portName = port["name"]!.GetValue<string>();
        var containerPort = port["containerPort"]!.GetValue<string>();
        var env = KubernetesEnvironment(container);
        Assert.Equal(containerPort, env["ASPNETCORE_HTTP_PORTS"]);

        var probes = KubernetesProbes(container);
        Assert.Equal(["livenessProbe", "readinessProbe", "startupProbe"], probes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("/health/live", probes["livenessProbe"].Path);
        Assert.Equal("/health/live", probes["startupProbe"].Path);
        Assert.Equal("/health/ready", probes["readinessProbe"].Path);
        foreach (var (kind, probe) in probes)
        {
            Assert.True(probe.Port == portName || probe.Port == containerPort, $"{kind} probes port {probe.Port}, the container serves {portName}/{containerPort}");

            // A probe outwaits the checks' own timeout, so a slow dependency answers 503 rather than timing the probe out.
            Assert.True(probe.TimeoutSeconds * 1000 > int.Parse(env["Observability__Health__TimeoutMs"], CultureInfo.InvariantCulture), $"{kind}: timeoutSeconds {probe.TimeoutSeconds}");
        }

        var annotations = DeployFiles.ToDictionary(template["metadata"]!["annotations"]);
        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal("/metrics", annotations["prometheus.io/path"]);
        Assert.Equal(containerPort, annotations["prometheus.io/port"]);

        // Drain delay < the host's shutdown timeout < the pod's grace period.
        var delay = TimeSpan.FromMilliseconds(int.Parse(env["Observability__Health__ShutdownDelayMs"], CultureInfo.InvariantCulture));
        var shutdownTimeout = TimeSpan.FromSeconds(int.Parse(env["shutdownTimeoutSeconds"], CultureInfo.InvariantCulture));
        var grace = TimeSpan.FromSeconds(int.Parse(template["spec"]!["terminationGracePeriodSeconds"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.True(delay > TimeSpan.Zero && delay < shutdownTimeout && shutdownTimeout < grace, $"ShutdownDelay {delay}, ShutdownTimeout {shutdownTimeout}, grace {grace}");

        // The memory limit leaves room for the HighProcessMemory alert to fire before the OOM kill.
        var limit = DeployFiles.ParseKubernetesBytes(container["resources"]!["limits"]!["memory"]!.GetValue<string>());
        var memoryAlert = DeployFiles.ReadAlertRules().Single(r => r.Name == "HighProcessMemory");
        var threshold = long.Parse(MemoryThreshold().Match(memoryAlert.Expr).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(limit > threshold, $"memory limit {limit} bytes is not above the HighProcessMemory threshold {threshold}");
    }

    // --- The readers ----------------------------------------------------------------------------------------------------

    [Fact]
    public void Yaml_reader_turns_the_constructs_the_deploy_files_use_into_strings_and_nulls()
    {
        var node = Yaml.Parse("""
            # comment
            top:
              plain: http://host:9090/path # trailing comment
              quoted: "a: \"b\" # not a comment"
              single: 'it''s {x="y"}'
              empty:
              flow: [a, "b c", 'd']
              map: { severity: critical, instance: "a:80", path: /api/items }
              none: []
              seq:
              - one
              - key: value
                other: 2
              - - nested
              indented:
                - --flag=x
                - "9090:9090"
            block: |
              line 1 # kept
                line 2

            folded: >-
              a
              b
            last: end
            """)!;

        Assert.Equal("http://host:9090/path", node["top"]!["plain"]!.GetValue<string>());
        Assert.Equal("a: \"b\" # not a comment", node["top"]!["quoted"]!.GetValue<string>());
        Assert.Equal("it's {x=\"y\"}", node["top"]!["single"]!.GetValue<string>());
        Assert.Null(node["top"]!["empty"]);
        Assert.Equal(["a", "b c", "d"], node["top"]!["flow"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("a:80", node["top"]!["map"]!["instance"]!.GetValue<string>());
        Assert.Equal("/api/items", node["top"]!["map"]!["path"]!.GetValue<string>());
        Assert.Empty(node["top"]!["none"]!.AsArray());
        var seq = node["top"]!["seq"]!.AsArray();
        Assert.Equal("one", seq[0]!.GetValue<string>());
        Assert.Equal("2", seq[1]!["other"]!.GetValue<string>());
        Assert.Equal("nested", seq[2]![0]!.GetValue<string>());
        Assert.Equal(["--flag=x", "9090:9090"], node["top"]!["indented"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("line 1 # kept\n  line 2\n", node["block"]!.GetValue<string>());
        Assert.Equal("a b", node["folded"]!.GetValue<string>());
        Assert.Equal("end", node["last"]!.GetValue<string>());

        // Anchors and multi-line flow collections, beyond the old hand-written reader, now read as YAML defines them.
        Assert.Equal("x", Yaml.Parse("a: &anchor x\nb: *anchor")!["b"]!.GetValue<string>());
        Assert.Equal(["x", "y"], Yaml.Parse("a: [x,\n  y]")!["a"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Throws<FormatException>(() => Yaml.Parse("a: 1\na: 2"));
        Assert.Throws<FormatException>(() => Yaml.Parse("a: 1\n---\nb: 2"));
    }

    [Fact]
    public void Metric_name_extractor_finds_every_selector_and_nothing_else()
    {
        Assert.Equal(
            ["http_request_duration_seconds_bucket", "up"],
            PromQlNames.Names("""
                histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket{job=~"$job",status=~"5..", x="}{[5m]"}[5m])))
                  > 1.5e-3 and on (job) group_left (version) up == bool 1
                """).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["bar", "foo_total", "process_start_time_seconds"],
            PromQlNames.Names("""
                sum without (instance) (increase(foo_total[1h30m:1m] offset 5m)) / ignoring(x) group_left bar
                  or label_replace(time() - process_start_time_seconds, "dst", "$1 rate(", "src", "(.*)") unless vector(0x1F)
                """).Order(StringComparer.Ordinal));
        Assert.Equal([new MetricSelector("a", "{job=~\"$job\"}"), new MetricSelector("b", "")], PromQlNames.Selectors("sum(a{job=~\"$job\"}) by (x) / count(b)"));

        // A misspelt function is an error, not a silently accepted metric name.
        Assert.Throws<NotSupportedException>(() => PromQlNames.Names("rte(http_requests_total[5m])"));

        // Families: histogram series map to their family, a name the scrape lacks to nothing.
        var families = new Dictionary<string, string>(StringComparer.Ordinal) { ["h_seconds"] = "histogram", ["c_total"] = "counter", ["g"] = "gauge" };
        Assert.Equal("h_seconds", PromQlNames.FamilyOf("h_seconds_bucket", families));
        Assert.Equal("h_seconds", PromQlNames.FamilyOf("h_seconds_count", families));
        Assert.Equal("c_total", PromQlNames.FamilyOf("c_total", families));
        Assert.Null(PromQlNames.FamilyOf("g_bucket", families));
        Assert.Null(PromQlNames.FamilyOf("no_such_metric_total", families));
        Assert.True(PromQlNames.IsGeneratedByPrometheus("scrape_duration_seconds"));
        Assert.False(PromQlNames.IsGeneratedByPrometheus("upstream_requests_total"));
    }

    // --- helpers --------------------------------------------------------------------------------------------------------

    internal static Dictionary<string, string> KubernetesEnvironment(JsonNode container) =>
        container["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>(), StringComparer.Ordinal);

    internal static Dictionary<string, (string Path, string Port, int TimeoutSeconds)> KubernetesProbes(JsonNode container) =>
        new[] { "startupProbe", "livenessProbe", "readinessProbe" }
            .Where(k => container[k] is not null)
            .ToDictionary(
                k => k,
                k => (container[k]!["httpGet"]!["path"]!.GetValue<string>(),
                      container[k]!["httpGet"]!["port"]!.GetValue<string>(),
                      int.Parse(container[k]!["timeoutSeconds"]?.GetValue<string>() ?? "1", CultureInfo.InvariantCulture)),
                StringComparer.Ordinal);

    private static JsonObject ComposeServices() => Yaml.ParseFile(DeployFiles.Compose)!["services"]!.AsObject();

    private static string Type(JsonObject panel) => panel["type"]!.GetValue<string>();

    [GeneratedRegex(@"^bridged_families=\(([^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex BridgedFamilies();

    /// <summary>Container path → compose source of a service's volumes.</summary>
    private static Dictionary<string, string> Mounts(JsonNode service) =>
        service["volumes"]!.AsArray().Select(v => v!.GetValue<string>().Split(':')).ToDictionary(p => p[1], p => p[0], StringComparer.Ordinal);

    private static string Flag(JsonNode service, string flag) =>
        service["command"]!.AsArray().Select(c => c!.GetValue<string>()).Single(c => c.StartsWith(flag + "=", StringComparison.Ordinal))[(flag.Length + 1)..];

    [GeneratedRegex(@"^[a-z0-9./_-]+:v?\d+\.\d+\.\d+$")]
    private static partial Regex PinnedImage();

    [GeneratedRegex(@"^[a-zA-Z0-9_-]{1,40}$")]
    private static partial Regex DashboardUid();

    [GeneratedRegex(@"\$\{?[a-zA-Z_]+")]
    private static partial Regex Variable();

    [GeneratedRegex(@"process_resident_memory_bytes > (\d+)$")]
    private static partial Regex MemoryThreshold();
}
