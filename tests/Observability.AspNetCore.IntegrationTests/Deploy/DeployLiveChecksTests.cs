using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// One live stack for the checks that need the real thing: the sample API run with the Kubernetes excerpt's settings on
/// PostgreSQL (for Npgsql's pool metrics) and a healthy Redis check, driven through every feature the dashboard shows
/// (twice, so rates have increases to show), and a real Prometheus loading the shipped prometheus.yml and alerts.yml.
/// </summary>
public class DeployLiveStackFixture : IAsyncLifetime
{
    // Above what the drive opens at once (15 requests, the scrape, the job posts); the fixture then opens more to be rejected.
    private const int MaxConnections = 40;

    private RedisServer? _redis;
    private PostgresServer? _postgres;
    private DeployStack? _stack;

    internal DeployStack Stack => _stack ?? throw new InvalidOperationException("not started");

    /// <summary>The sample's scrape after the traffic: the reference every metric name is checked against.</summary>
    internal IReadOnlyDictionary<string, string> Families { get; private set; } = new Dictionary<string, string>();

    internal string Exposition { get; private set; } = "";

    /// <summary>The metric prefix the sample runs with, as its names carry it (empty as shipped).</summary>
    internal virtual string Prefix => "";

    /// <summary>The rule file Prometheus loads and the Deployment excerpt whose environment the sample runs with.</summary>
    internal virtual (string AlertRules, string KubernetesDeployment) Assets => (DeployFiles.AlertRules, DeployFiles.KubernetesDeployment);

    public virtual async Task InitializeAsync()
    {
        var redis = RedisServer.StartAsync();
        var postgres = PostgresServer.StartAsync();
        _redis = await redis;
        _postgres = await postgres;
        await _postgres.CreateDatabaseAsync("deploy");

        // The Kubernetes excerpt's environment, so its configuration keys pass the sample's startup validation; Kestrel's
        // port comes from --urls instead.
        var container = Yaml.ParseFile(Assets.KubernetesDeployment)!["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var environment = DeployFileChecksTests.KubernetesEnvironment(container)
            .Where(e => e.Key != "ASPNETCORE_HTTP_PORTS")
            .ToDictionary(e => e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        environment["Observability__Health__Redis__ConnectionString"] = _redis.ConnectionString;
        environment["ConnectionStrings__Postgres"] = _postgres.ConnectionStringFor("deploy");
        environment["Kestrel__Limits__MaxConcurrentConnections"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture);

        _stack = await DeployStack.StartAsync(environment, await File.ReadAllTextAsync(Assets.AlertRules));

        // Two waves: the first creates the labelled series, the second increases them once Prometheus has stored them.
        string[] paths = ["/api/items/1", "/api/items/999", "/api/boom", "/api/slow?ms=150", "/api/db/slow?ms=600"];
        await _stack.DriveAsync(1, paths);
        await DriveJobsAndConnectionErrorsAsync();
        await _stack.WaitForSeriesAsync(
            Prefix + "http_request_exceptions_total",
            Prefix + "http_slow_requests_total",
            Prefix + "health_check_status",
            Prefix + "http_requests_total{endpoint=\"/api/db/slow\"}",
            Prefix + "job_runs_total{outcome=\"failed\"} > 0",
            Prefix + "job_slow_runs_total > 0",
            Prefix + "kestrel_connection_duration_seconds_count{error_type!=\"\"}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await _stack.DriveAsync(3, paths);
        await DriveJobsAndConnectionErrorsAsync();
        await _stack.Prometheus.WaitForQueryResultAsync(Prefix + "http_requests_total{endpoint=\"/api/boom\"} >= 4", TimeSpan.FromSeconds(20));
        await RejectConnectionsAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        // The SLO panels read series the rules record from the requests above.
        await _stack.Prometheus.WaitForQueryResultAsync($"job_endpoint:{Prefix}http_requests_errors:budget_remaining30d{{endpoint=\"/api/boom\"}} < 1", TimeSpan.FromSeconds(20));

        (Exposition, Families) = await _stack.ScrapeAsync();
    }

    /// <summary>A fast, a slow (over its threshold) and a failing job run, and a request with oversized headers, which Kestrel ends with an error.</summary>
    private async Task DriveJobsAndConnectionErrorsAsync()
    {
        foreach (var kind in new[] { "fast", "slow", "fail" })
        {
            using var enqueued = await Stack.App.Client.PostAsync(new Uri($"/api/jobs/{kind}", UriKind.Relative), null);
            Assert.True(enqueued.IsSuccessStatusCode, $"POST /api/jobs/{kind}: {(int)enqueued.StatusCode}");
        }

        // A client of its own: Kestrel closes the connection after the 431.
        using var client = new HttpClient { BaseAddress = Stack.App.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/1");
        request.Headers.Add("X-Oversized", new string('a', 40_000));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    /// <summary>Holds more idle connections than Kestrel's limit until Prometheus has seen it reject some.</summary>
    private async Task RejectConnectionsAsync()
    {
        var sockets = new List<TcpClient>();
        try
        {
            for (var i = 0; i < MaxConnections + 5; i++)
            {
                var socket = new TcpClient();
                sockets.Add(socket);
                await socket.ConnectAsync(Stack.App.BaseAddress.Host, Stack.App.BaseAddress.Port);
            }

            await Stack.Prometheus.WaitForQueryResultAsync(Prefix + "kestrel_rejected_connections_total > 0", TimeSpan.FromSeconds(20));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>
/// The dashboards and rules against the live sample and a real Prometheus: every metric name exists, every expression
/// parses and the dashboard panels show data, the shipped rules load and evaluate, and the endpoints the Kubernetes probes
/// and scrape annotations name are served.
/// </summary>
public sealed class DeployLiveChecksTests(DeployLiveStackFixture fixture) : IClassFixture<DeployLiveStackFixture>
{
    private DeployStack Stack => fixture.Stack;

    [Fact]
    public void Every_metric_name_in_the_dashboards_and_rules_is_served_by_the_sample_or_written_by_prometheus()
    {
        var uses = DeployFiles.PanelQueries().SelectMany(q => PromQlNames.Names(q.Expr).Select(n => (Where: q.ToString(), Name: n)))
            .Concat(DeployFiles.ReadAlertRules().SelectMany(r => PromQlNames.Names(r.Expr).Select(n => (Where: "alert " + r.Name, Name: n))))
            .Concat(DeployFiles.ReadRecordingRules().SelectMany(r => PromQlNames.Names(r.Expr).Select(n => (Where: "recording rule " + r.Name, Name: n))))
            .ToList();

        var unknown = uses.Where(u => !PromQlNames.IsGeneratedByPrometheus(u.Name) && !RenderedAssets.IsRecordedBy(DeployFiles.AlertRules, u.Name)
            && PromQlNames.FamilyOf(u.Name, fixture.Families) is null).ToList();

        Assert.True(unknown.Count == 0,
            $"Names that the sample's /metrics does not serve:\n{PromQlNames.Describe(unknown)}--- families served ---\n{string.Join('\n', fixture.Families.Keys)}");

        // Not vacuous: the check saw the library's names, its histograms through their series and Prometheus's own.
        var checkedNames = uses.Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        Assert.True(checkedNames.Count >= 20, $"only {checkedNames.Count} names: {string.Join(", ", checkedNames)}");
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal) { "http_requests_total", "http_request_duration_seconds_bucket", "health_check_status", "up", "scrape_duration_seconds" },
            checkedNames);
        Assert.Equal("histogram", fixture.Families["http_request_duration_seconds"]);
    }

    [Fact]
    public async Task Every_dashboard_query_and_alert_expression_parses_in_the_real_prometheus()
    {
        var exprs = DeployFiles.PanelQueries().Select(q => (Where: q.ToString(), Expr: DeployFiles.Substitute(q.Expr)))
            .Concat(DeployFiles.ReadAlertRules().Select(r => (Where: "alert " + r.Name, r.Expr)))
            .Concat(DeployFiles.ReadRecordingRules().Select(r => (Where: "recording rule " + r.Name, r.Expr)))
            .ToList();

        var failures = new List<string>();
        foreach (var (where, expr) in exprs)
        {
            using var answer = await Stack.Prometheus.QueryAsync(expr);
            if (answer.RootElement.GetProperty("status").GetString() != "success")
            {
                failures.Add($"{where}: {expr}\n    {answer.RootElement.GetRawText()}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // The check itself rejects what Prometheus rejects.
        using var broken = await Stack.Prometheus.QueryAsync("sum by (endpoint (rate(http_requests_total[5m]))");
        Assert.Equal("error", broken.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Every_dashboard_query_returns_data_for_the_driven_sample()
    {
        var empty = new List<string>();
        foreach (var query in DeployFiles.PanelQueries())
        {
            var expr = DeployFiles.Substitute(query.Expr);
            using var answer = await Stack.Prometheus.QueryAsync(expr);
            var result = answer.RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() == 0)
            {
                empty.Add($"{query}: {expr}");
            }
        }

        Assert.True(empty.Count == 0, $"Queries without data after driving the sample:\n{string.Join('\n', empty)}\n--- scrape ---\n{fixture.Exposition}");
    }

    [Fact]
    public async Task Job_variable_query_lists_the_scraped_service()
    {
        // label_values(app_info, job) is /api/v1/label/job/values?match[]=app_info for Grafana's Prometheus data source.
        using var answer = await Stack.Prometheus.GetAsync("/api/v1/label/job/values?match[]=app_info");

        Assert.Equal("success", answer.RootElement.GetProperty("status").GetString());
        Assert.Equal([DeployStack.Job], answer.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetString()));
    }

    [Fact]
    public async Task Instance_variable_query_lists_the_scraped_instance_of_the_selected_job()
    {
        // label_values(app_info{job=~"$job"}, instance), with the job picked in the job variable.
        var match = Uri.EscapeDataString($"app_info{{job=~\"{DeployStack.Job}\"}}");
        using var answer = await Stack.Prometheus.GetAsync($"/api/v1/label/instance/values?match[]={match}");
        using var other = await Stack.Prometheus.GetAsync($"/api/v1/label/instance/values?match[]={Uri.EscapeDataString("app_info{job=~\"other\"}")}");

        Assert.Equal([Stack.Target], answer.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetString()));
        Assert.Empty(other.RootElement.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Shipped_rules_load_and_evaluate_without_error_in_the_real_prometheus()
    {
        var shipped = DeployFiles.ReadAlertRules();
        var rules = await Stack.EvaluatedRulesAsync(DeployFiles.RuleCount());

        foreach (var recording in DeployFiles.ReadRecordingRules())
        {
            var loaded = rules.Single(r => r.GetProperty("name").GetString() == recording.Name);
            Assert.Equal("recording", loaded.GetProperty("type").GetString());
            Assert.True(loaded.GetProperty("health").GetString() == "ok", $"{recording.Name}: {loaded.GetRawText()}");
        }

        foreach (var rule in shipped)
        {
            var loaded = rules.Single(r => r.GetProperty("name").GetString() == rule.Name);
            Assert.Equal("alerting", loaded.GetProperty("type").GetString());
            Assert.True(loaded.GetProperty("health").GetString() == "ok", $"{rule.Name}: {loaded.GetRawText()}");
            Assert.Equal(DeployFiles.ParseDuration(rule.For).TotalSeconds, loaded.GetProperty("duration").GetDouble());
            Assert.Equal(rule.Labels["severity"], loaded.GetProperty("labels").GetProperty("severity").GetString());
        }

        // With healthy traffic nothing fires; the errors the fixture drove stay pending at most (their for: is minutes).
        var alerts = await Stack.AlertsAsync();
        Assert.DoesNotContain(alerts, a => a.State == "firing");
        Assert.DoesNotContain(alerts, a => a.Name is "TargetDown" or "DependencyUnhealthy" or "HighProcessMemory" or "ThreadPoolStarvation");
    }

    [Fact]
    public async Task Kubernetes_probe_paths_and_scrape_path_are_served_by_the_sample()
    {
        var deployment = Yaml.ParseFile(DeployFiles.KubernetesDeployment)!;
        var template = deployment["spec"]!["template"]!;
        var probes = DeployFileChecksTests.KubernetesProbes(template["spec"]!["containers"]![0]!);
        Assert.Equal(3, probes.Count);

        // The sample runs with the excerpt's environment (the fixture passed it), so those keys pass startup validation.
        Assert.False(Stack.App.HasExited);

        foreach (var (kind, probe) in probes)
        {
            using var response = await Stack.App.Client.GetAsync(new Uri(probe.Path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{kind} GET {probe.Path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var scrapePath = template["metadata"]!["annotations"]!["prometheus.io/path"]!.GetValue<string>();
        using var metrics = await Stack.App.Client.GetAsync(new Uri(scrapePath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_requests_total counter", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // And the shipped scrape config's job really scrapes that path: the target is up.
        var up = await Stack.Prometheus.WaitForQueryResultAsync($"up{{job=\"{DeployStack.Job}\"}} == 1", TimeSpan.FromSeconds(10));
        Assert.Equal(Stack.Target, up[0].GetProperty("metric").GetProperty("instance").GetString());
    }
}
