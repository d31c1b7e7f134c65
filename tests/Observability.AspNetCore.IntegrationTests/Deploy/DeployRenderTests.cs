using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// <c>deploy/render.sh</c> without a live app: without a prefix it reproduces the committed assets, with one it prefixes
/// every metric name the app prefixes and nothing else, and the rendered rules pass promtool.
/// </summary>
public sealed class DeployRenderTests
{
    private const string Prefix = "shop";

    [Fact]
    public async Task Rendering_without_a_prefix_reproduces_the_committed_rules_rule_tests_dashboards_and_kubernetes_excerpt()
    {
        using var rendered = await RenderedAssets.RenderAsync(null);

        // Every committed asset of those kinds is rendered: a new dashboard or Kubernetes file cannot be left out.
        var expected = new[] { "prometheus/alerts.yml", "prometheus/alerts.test.yml" }
            .Concat(DeployFiles.DashboardFiles().Select(f => "grafana/dashboards/" + Path.GetFileName(f)))
            .Concat(Directory.GetFiles(DeployFiles.Deploy("kubernetes"), "*.yaml").Select(f => "kubernetes/" + Path.GetFileName(f)))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, rendered.Files());

        foreach (var file in rendered.Files())
        {
            Assert.True(
                File.ReadAllBytes(DeployFiles.Deploy(file)).AsSpan().SequenceEqual(File.ReadAllBytes(rendered.Path(file))),
                $"deploy/{file} is not what `bash deploy/render.sh` renders without a prefix");
        }
    }

    [Fact]
    public async Task Rendering_with_a_prefix_prefixes_every_metric_name_but_those_prometheus_writes()
    {
        using var rendered = await RenderedAssets.RenderAsync(Prefix);
        Assert.Equal("shop_", rendered.Prefix);

        var uses = rendered.MetricNameUses(withRuleTests: true);
        // A recorded name (level:metric:operations) carries the prefix on its metric part.
        var wrong = uses.Where(u => IsWrittenByPrometheus(u.Name)
            ? u.Name.StartsWith(rendered.Prefix, StringComparison.Ordinal)
            : !MetricPart(u.Name).StartsWith(rendered.Prefix, StringComparison.Ordinal)).ToList();
        Assert.True(wrong.Count == 0, $"Names neither prefixed nor written by Prometheus itself (up, scrape_*, ALERTS):\n{PromQlNames.Describe(wrong)}");

        // Not vacuous: rules, rule tests, panels and the job variable were all read.
        var names = uses.Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal) { "shop_http_requests_total", "shop_http_request_duration_seconds_bucket", "shop_app_info", "shop_health_check_status", "up" },
            names);
        Assert.Contains(uses, u => u.Where.StartsWith("input series", StringComparison.Ordinal));
        Assert.Contains(uses, u => u.Name == "job_endpoint:shop_http_requests_errors:ratio_rate1h" && u.Where == "alert AvailabilityBudgetFastBurn");
        Assert.Contains(uses, u => u.Where == "variable $job" && u.Name == "shop_app_info");
    }

    [Fact]
    public async Task Rendering_with_a_prefix_changes_nothing_but_the_metric_names_and_the_prefix_setting()
    {
        using var rendered = await RenderedAssets.RenderAsync(Prefix);

        foreach (var file in rendered.Files())
        {
            var committed = await File.ReadAllTextAsync(DeployFiles.Deploy(file));
            Assert.DoesNotContain("shop_", committed, StringComparison.Ordinal);
            var text = (await File.ReadAllTextAsync(rendered.Path(file))).Replace("shop_", "", StringComparison.Ordinal);
            if (file == "kubernetes/deployment.yaml")
            {
                text = text.Replace("            - name: Observability__Metrics__Prefix\n              value: \"shop\"\n", "", StringComparison.Ordinal);
            }

            Assert.True(committed == text, $"{file}: the rendering differs from deploy/{file} in more than the prefix");
        }

        // The dashboard JSON is still JSON and the YAML still YAML.
        Assert.All(DeployFiles.DashboardFiles(rendered.DashboardsDirectory), f => DeployFiles.LoadDashboard(f));
        Assert.NotNull(Yaml.ParseFile(rendered.AlertRules));
    }

    [Fact]
    public async Task Rendered_kubernetes_excerpt_sets_the_prefix_the_rendered_assets_expect()
    {
        using var rendered = await RenderedAssets.RenderAsync("shop_");

        var container = Yaml.ParseFile(rendered.KubernetesDeployment)!["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var environment = DeployFileChecksTests.KubernetesEnvironment(container);
        Assert.Equal("shop", environment["Observability__Metrics__Prefix"]);

        var committed = DeployFileChecksTests.KubernetesEnvironment(Yaml.ParseFile(DeployFiles.KubernetesDeployment)!["spec"]!["template"]!["spec"]!["containers"]![0]!);
        Assert.DoesNotContain("Observability__Metrics__Prefix", committed.Keys);
        Assert.Equal(committed, environment.Where(e => e.Key != "Observability__Metrics__Prefix").ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Promtool_accepts_the_prefixed_rules_with_every_lint_and_passes_their_prefixed_unit_tests()
    {
        using var rendered = await RenderedAssets.RenderAsync(Prefix);

        var check = await PromTools.RunAsync("promtool", "check", "rules", "--lint=all", "--lint-fatal", rendered.AlertRules);
        Assert.True(check.Succeeded, check.ToString());
        Assert.Contains($"SUCCESS: {DeployFiles.RuleCount()} rules found", check.CombinedOutput, StringComparison.Ordinal);

        var test = await PromTools.RunAsync("promtool", "test", "rules", rendered.AlertRuleTests);
        Assert.True(test.Succeeded, test.ToString());
        Assert.Contains("SUCCESS", test.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rendering_for_other_objectives_writes_their_budgets_and_threshold_and_their_rule_tests_pass()
    {
        using var output = TempDirectory.Create("obs-render");
        var result = await RenderedAssets.RunAsync(
            "--prefix", Prefix, "--availability", "99.5", "--latency-objective", "95", "--latency-threshold", "1", "--out", output.Path);
        Assert.True(result.Succeeded, result.ToString());
        var rules = Path.Combine(output.Path, "prometheus", "alerts.yml");

        // Budgets 0.5% and 5%; the latency SLI counts the le="1" bucket, as the app writes that bound.
        var burn = DeployFiles.ReadAlertRules(rules).Where(r => r.Labels.ContainsKey("slo")).ToDictionary(r => r.Name, r => r.Expr, StringComparer.Ordinal);
        Assert.Contains("job_endpoint:shop_http_requests_errors:ratio_rate1h / 0.005 > 14.4", burn["AvailabilityBudgetFastBurn"], StringComparison.Ordinal);
        Assert.Contains("job_endpoint:shop_http_requests_slow:ratio_rate3d / 0.05 > 1", burn["LatencyBudgetSlowBurn"], StringComparison.Ordinal);
        Assert.Contains(DeployFiles.ReadRecordingRules(rules), r => r.Expr.Contains("shop_http_request_duration_seconds_bucket{le=\"1\"}[1h]", StringComparison.Ordinal));
        Assert.DoesNotContain("le=\"0.5\"", await File.ReadAllTextAsync(rules), StringComparison.Ordinal);

        var check = await PromTools.RunAsync("promtool", "check", "rules", "--lint=all", "--lint-fatal", rules);
        Assert.True(check.Succeeded, check.ToString());
        var test = await PromTools.RunAsync("promtool", "test", "rules", Path.Combine(output.Path, "prometheus", "alerts.test.yml"));
        Assert.True(test.Succeeded, test.ToString());
    }

    [Theory]
    [InlineData("--availability", "100", "--availability must be a percentage from 95 up to, not including, 100 (e.g. 99.9); was '100'")]
    [InlineData("--availability", "90", "--availability must be a percentage from 95 up to, not including, 100 (e.g. 99.9); was '90'")]
    [InlineData("--latency-objective", "99,9", "--latency-objective must be a percentage from 95 up to, not including, 100 (e.g. 99.9); was '99,9'")]
    [InlineData("--latency-threshold", "0.3", "--latency-threshold must be one of the request-duration bucket bounds (0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10) written as there; was '0.3'")]
    [InlineData("--latency-threshold", "1.0", "--latency-threshold must be one of the request-duration bucket bounds (0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10) written as there; was '1.0'")]
    public async Task Render_refuses_an_objective_or_threshold_the_rules_cannot_use(string parameter, string value, string message)
    {
        using var output = TempDirectory.Create("obs-render");

        var result = await RenderedAssets.RunAsync(parameter, value, "--out", output.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(output.Path));
    }

    [Theory]
    [InlineData("1shop", "--prefix must start with a letter or '_' and contain only letters, digits and '_'; was '1shop'")]
    [InlineData("shop-api", "--prefix must start with a letter or '_' and contain only letters, digits and '_'; was 'shop-api'")]
    [InlineData("shop:", "--prefix must start with a letter or '_' and contain only letters, digits and '_'; was 'shop:'")]
    public async Task Render_refuses_a_prefix_the_app_refuses_at_startup(string prefix, string message)
    {
        using var output = TempDirectory.Create("obs-render");

        var result = await RenderedAssets.RunAsync("--prefix", prefix, "--out", output.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(output.Path));
    }

    [Fact]
    public async Task Render_refuses_to_write_over_the_committed_sources_and_requires_an_output_directory()
    {
        var before = await File.ReadAllTextAsync(DeployFiles.AlertRules);

        var overSources = await RenderedAssets.RunAsync("--prefix", Prefix, "--out", "deploy");
        var noOut = await RenderedAssets.RunAsync("--prefix", Prefix);

        Assert.Equal(2, overSources.ExitCode);
        Assert.Contains("--out must not be deploy/ itself", overSources.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, noOut.ExitCode);
        Assert.Contains("--out is required", noOut.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(DeployFiles.AlertRules));
    }

    private static string MetricPart(string name) => name.Contains(':', StringComparison.Ordinal) ? name.Split(':')[1] : name;

    private static bool IsWrittenByPrometheus(string name) =>
        PromQlNames.IsGeneratedByPrometheus(name) || name is "ALERTS" or "ALERTS_FOR_STATE";
}
