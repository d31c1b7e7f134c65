using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The sample API as a real process and a real Prometheus scraping it with <c>deploy/prometheus/prometheus.yml</c>
/// (made loopback-only, 1 s intervals) and a rule file, for the live deploy tests.
/// </summary>
internal sealed partial class DeployStack : IAsyncDisposable
{
    private readonly TempDirectory _dataDirectory;

    private DeployStack(TempDirectory dataDirectory, AppProcess app, PrometheusServer prometheus)
    {
        _dataDirectory = dataDirectory;
        App = app;
        Prometheus = prometheus;
    }

    public AppProcess App { get; }

    public PrometheusServer Prometheus { get; }

    /// <summary>The rules the stack's Prometheus loaded, once all <paramref name="expected"/> have been evaluated (15 s at most).</summary>
    public async Task<List<JsonElement>> EvaluatedRulesAsync(int expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var answer = await Prometheus.GetAsync("/api/v1/rules");
            var rules = answer.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray())
                .Select(r => r.Clone())
                .ToList();
            if (rules.Count == expected && rules.All(r => !r.GetProperty("lastEvaluation").GetString()!.StartsWith("0001", StringComparison.Ordinal)))
            {
                return rules;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"rules not all evaluated: {string.Join('\n', rules.Select(r => r.GetRawText()))}");
            await Task.Delay(250);
        }
    }

    /// <summary><c>host:port</c> of the sample, the <c>instance</c> label of its series.</summary>
    public string Target => $"{App.BaseAddress.Host}:{App.BaseAddress.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The scrape job of the shipped prometheus.yml, the <c>job</c> label of the sample's series.</summary>
    public static string Job =>
        Yaml.ParseFile(DeployFiles.PrometheusConfig)!["scrape_configs"]![0]!["job_name"]!.GetValue<string>();

    /// <summary>
    /// Starts the sample (SQLite in a temp dir unless the environment sets <c>ConnectionStrings__Postgres</c>, the library's
    /// own meters plus Npgsql's and Kestrel's, slow requests from 100 ms, health metrics
    /// published every second, plus <paramref name="environment"/>) and Prometheus with <paramref name="rules"/> as alerts.yml.
    /// </summary>
    public static async Task<DeployStack> StartAsync(IDictionary<string, string?> environment, string rules)
    {
        var data = TempDirectory.Create("obs-deploy");
        AppProcess? app = null;
        try
        {
            var variables = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["ConnectionStrings__Sqlite"] = $"Data Source={data.Combine("deploy.db")}",
                // The library's own metrics plus the bridged meters the assets read (render.sh's bridged_families), and
                // no other: the names checked must be the library's or those, not some other meter's.
                ["Observability__Metrics__Meters__0"] = "Npgsql",
                ["Observability__Metrics__Meters__1"] = "Microsoft.AspNetCore.Server.Kestrel",
                ["Observability__SlowRequests__ThresholdMs"] = "100",
                ["Observability__Health__PublishIntervalMs"] = "1000",
            };
            foreach (var (key, value) in environment)
            {
                variables[key] = value;
            }

            app = await AppProcess.StartAsync(AppProcess.SampleApiDllPath(), variables);
            var target = $"{app.BaseAddress.Host}:{app.BaseAddress.Port.ToString(CultureInfo.InvariantCulture)}";

            // Nothing listens on the Alertmanager port: notifications fail fast, rule evaluation is unaffected.
            var config = DeployFiles.LoopbackPrometheusConfig(target, $"127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}");
            var prometheus = await PrometheusServer.StartAsync(config, new Dictionary<string, string> { ["alerts.yml"] = rules });
            return new DeployStack(data, app, prometheus);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            data.Dispose();
            throw;
        }
    }

    /// <summary>GETs each path <paramref name="count"/> times, all at once, and returns the status codes.</summary>
    public async Task<IReadOnlyList<int>> DriveAsync(int count, params string[] paths)
    {
        var requests = paths.SelectMany(path => Enumerable.Range(0, count).Select(async _ =>
        {
            using var response = await App.Client.GetAsync(new Uri(path, UriKind.Relative));
            return (int)response.StatusCode;
        }));
        return await Task.WhenAll(requests);
    }

    /// <summary>Waits until Prometheus has stored a sample of each query (so later increases make a rate).</summary>
    public async Task WaitForSeriesAsync(params string[] queries)
    {
        foreach (var query in queries)
        {
            await Prometheus.WaitForQueryResultAsync(query, TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>The alerts Prometheus reports (<c>/api/v1/alerts</c>): pending and firing.</summary>
    public Task<IReadOnlyList<ActiveAlert>> AlertsAsync() => ActiveAlert.ReadAsync(Prometheus);

    /// <summary>Polls <c>/api/v1/alerts</c> until <paramref name="done"/> holds for the alerts; bounded by <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<ActiveAlert>> WaitForAlertsAsync(Func<IReadOnlyList<ActiveAlert>, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var alerts = await AlertsAsync();
            if (done(alerts))
            {
                return alerts;
            }

            if (clock.Elapsed > timeout)
            {
                using var up = await Prometheus.QueryAsync("up");
                throw new TimeoutException(
                    $"{what}: not reached within {timeout.TotalSeconds:0} s. Alerts:\n{string.Join('\n', alerts)}\nup: {up.RootElement.GetRawText()}\n" +
                    $"--- prometheus log ---\n{Prometheus.LogTail}\n--- sample (last lines) ---\n{string.Join('\n', App.StdoutLines.TakeLast(20))}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The families (<c># TYPE</c> lines) of a live scrape of the sample, name → type.</summary>
    public async Task<(string Exposition, IReadOnlyDictionary<string, string> Families)> ScrapeAsync()
    {
        var exposition = await App.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var families = TypeLine().Matches(exposition).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        return (exposition, families);
    }

    public async ValueTask DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await App.DisposeAsync();
        _dataDirectory.Dispose();
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}

/// <summary>An alert as <c>/api/v1/alerts</c> reports it.</summary>
internal sealed record ActiveAlert(IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations, string State, string Value = "")
{
    /// <summary>The alerts <paramref name="prometheus"/> reports (<c>/api/v1/alerts</c>): pending and firing.</summary>
    public static async Task<IReadOnlyList<ActiveAlert>> ReadAsync(PrometheusServer prometheus)
    {
        using var document = await prometheus.GetAsync("/api/v1/alerts");
        Assert.Equal("success", document.RootElement.GetProperty("status").GetString());
        return document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a => new ActiveAlert(
                a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
                a.GetProperty("annotations").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
                a.GetProperty("state").GetString() ?? "",
                a.GetProperty("value").GetString() ?? ""))
            .ToList();
    }

    public string Name => Labels["alertname"];

    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";

    public override string ToString() =>
        $"  {State} {Name} {{{string.Join(", ", Labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}={l.Value}"))}}} {JsonSerializer.Serialize(Annotations)}";
}
