using System.Diagnostics;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The live stack of <see cref="DeployLiveStackFixture"/> for an app with a metric prefix: the sample runs with the
/// environment of the Kubernetes excerpt rendered for <c>shop</c> (which sets <c>Observability__Metrics__Prefix</c>), and
/// Prometheus loads the rules rendered for it.
/// </summary>
public sealed class PrefixedDeployLiveStackFixture : DeployLiveStackFixture
{
    private RenderedAssets? _rendered;

    internal RenderedAssets Rendered => _rendered ?? throw new InvalidOperationException("not rendered");

    internal override string Prefix => "shop_";

    internal override (string AlertRules, string KubernetesDeployment) Assets => (Rendered.AlertRules, Rendered.KubernetesDeployment);

    public override async Task InitializeAsync()
    {
        _rendered = await RenderedAssets.RenderAsync("shop");
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _rendered?.Dispose();
    }
}

/// <summary>
/// The assets rendered by <c>deploy/render.sh --prefix shop</c> against a live sample that publishes <c>shop_*</c>, driven
/// through a database query, a failing request, a slow request and a slow query: every name exists, every panel shows
/// data, the job variable lists the service and the rules load and evaluate. The committed (unprefixed) assets, on the
/// same app, find nothing but Prometheus's own series.
/// </summary>
public sealed class PrefixedDeployLiveChecksTests(PrefixedDeployLiveStackFixture fixture) : IClassFixture<PrefixedDeployLiveStackFixture>
{
    private DeployStack Stack => fixture.Stack;

    [Fact]
    public void Every_metric_name_in_the_rendered_dashboards_and_rules_is_served_by_the_prefixed_sample()
    {
        var uses = fixture.Rendered.MetricNameUses(withRuleTests: false);

        var unknown = uses.Where(u => !PromQlNames.IsGeneratedByPrometheus(u.Name) && !RenderedAssets.IsRecordedBy(fixture.Rendered.AlertRules, u.Name)
            && PromQlNames.FamilyOf(u.Name, fixture.Families) is null).ToList();

        Assert.True(unknown.Count == 0,
            $"Names that the prefixed sample's /metrics does not serve:\n{PromQlNames.Describe(unknown)}--- families served ---\n{string.Join('\n', fixture.Families.Keys)}");
        Assert.Contains(uses, u => u.Name == "shop_app_info");
        Assert.Contains(uses, u => u.Name == "shop_http_request_duration_seconds_bucket");

        // The issue's symptom, on the same app: the committed assets' library names are not served at all.
        var committed = RenderedAssets.MetricNameUses(DeployFiles.AlertRules, null, DeployFiles.GrafanaDashboardsDirectory)
            .Where(u => !PromQlNames.IsGeneratedByPrometheus(u.Name))
            .ToList();
        Assert.True(committed.Count >= 20, $"only {committed.Count} uses");
        Assert.All(committed, u => Assert.Null(PromQlNames.FamilyOf(u.Name, fixture.Families)));
    }

    [Fact]
    public async Task Every_rendered_dashboard_query_returns_data_for_the_driven_prefixed_sample()
    {
        var empty = new List<string>();
        foreach (var query in DeployFiles.PanelQueries(fixture.Rendered.DashboardsDirectory))
        {
            var expr = DeployFiles.Substitute(query.Expr);
            using var answer = await Stack.Prometheus.QueryAsync(expr);
            Assert.True(answer.RootElement.GetProperty("status").GetString() == "success", $"{query}: {expr}\n{answer.RootElement.GetRawText()}");
            if (answer.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() == 0)
            {
                empty.Add($"{query}: {expr}");
            }
        }

        Assert.True(empty.Count == 0, $"Queries without data after driving the sample:\n{string.Join('\n', empty)}\n--- scrape ---\n{fixture.Exposition}");

        // The committed panels that read the library's metrics are empty on a prefixed app (only up and scrape_* remain).
        var committedWithData = new List<string>();
        foreach (var query in DeployFiles.PanelQueries().Where(q => !PromQlNames.Names(q.Expr).All(PromQlNames.IsGeneratedByPrometheus)))
        {
            using var answer = await Stack.Prometheus.QueryAsync(DeployFiles.Substitute(query.Expr));
            if (answer.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() > 0)
            {
                committedWithData.Add(query.ToString());
            }
        }

        Assert.Empty(committedWithData);
    }

    [Fact]
    public async Task Rendered_job_and_instance_variables_list_the_prefixed_service_and_its_instance()
    {
        // label_values(shop_app_info, job) is /api/v1/label/job/values?match[]=shop_app_info for Grafana's Prometheus data source.
        using var jobs = await Stack.Prometheus.GetAsync("/api/v1/label/job/values?match[]=shop_app_info");
        var match = Uri.EscapeDataString($"shop_app_info{{job=~\"{DeployStack.Job}\"}}");
        using var instances = await Stack.Prometheus.GetAsync($"/api/v1/label/instance/values?match[]={match}");

        Assert.Equal([DeployStack.Job], jobs.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal([Stack.Target], instances.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetString()));
        var uses = RenderedAssets.MetricNameUses(fixture.Rendered.AlertRules, null, fixture.Rendered.DashboardsDirectory);
        Assert.Contains(uses, u => u is { Where: "variable $job", Name: "shop_app_info" });
        Assert.Contains(uses, u => u is { Where: "variable $instance", Name: "shop_app_info" });
    }

    [Fact]
    public async Task Rendered_rules_load_and_evaluate_without_error_in_the_real_prometheus()
    {
        var rendered = DeployFiles.ReadAlertRules(fixture.Rendered.AlertRules).Select(r => r.Name)
            .Concat(DeployFiles.ReadRecordingRules(fixture.Rendered.AlertRules).Select(r => r.Name))
            .ToList();
        var rules = await Stack.EvaluatedRulesAsync(rendered.Count);

        foreach (var name in rendered)
        {
            var loaded = rules.Single(r => r.GetProperty("name").GetString() == name);
            Assert.True(loaded.GetProperty("health").GetString() == "ok", $"{name}: {loaded.GetRawText()}");
        }

        // What Prometheus loaded is the prefixed rendering: only TargetDown reads no library metric.
        Assert.All(
            rules.Where(r => r.GetProperty("name").GetString() != "TargetDown"),
            r => Assert.Contains("shop_", r.GetProperty("query").GetString(), StringComparison.Ordinal));
    }
}
