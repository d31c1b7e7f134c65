using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Metrics;

/// <summary>
/// The sample API as a real process, checked by the real Prometheus tools: its exposition passes
/// <c>promtool check metrics</c>, a real Prometheus server scrapes it and answers queries, and the docs' metric
/// reference matches what it serves.
/// </summary>
public sealed partial class PrometheusToolsTests : IAsyncLifetime
{
    private readonly string _dbDirectory = Directory.CreateTempSubdirectory("obs-metrics-").FullName;
    private AppProcess _app = null!;

    public async Task InitializeAsync()
    {
        _app = await AppProcess.StartAsync(AppProcess.SampleApiDllPath(), new Dictionary<string, string?>
        {
            ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(_dbDirectory, "metrics.db")}",
            // Only the library's own metrics: other meters (HttpClient, EF Core) are the app's business, not the reference's.
            ["Observability__Metrics__Meters__0"] = "No.Such.Meter",
        });

        // Drive every feature that creates labelled series, so their labels can be checked.
        await _app.Client.GetAsync(new Uri("/api/items/1", UriKind.Relative));
        await _app.Client.GetAsync(new Uri("/api/items/999", UriKind.Relative));
        await _app.Client.GetAsync(new Uri("/api/boom", UriKind.Relative));
        await _app.Client.GetAsync(new Uri("/no/such/path", UriKind.Relative));
        await _app.Client.GetAsync(new Uri("/api/slow?ms=1100", UriKind.Relative));
        await _app.Client.GetAsync(new Uri("/api/db/slow?ms=600", UriKind.Relative));
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_dbDirectory, recursive: true);
    }

    private Task<string> ScrapeAsync() => _app.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    [Fact]
    public async Task Sample_exposition_passes_promtool_check_metrics()
    {
        var exposition = await ScrapeAsync();

        var result = await PromTools.CheckMetricsAsync(exposition);

        Assert.True(result.Succeeded, $"promtool check metrics:\n{result.CombinedOutput}\n--- exposition ---\n{exposition}");
    }

    [Fact]
    public async Task Real_prometheus_scrapes_the_sample_and_returns_request_series_with_route_labels()
    {
        var target = $"{_app.BaseAddress.Host}:{_app.BaseAddress.Port}";
        await using var prometheus = await PrometheusServer.StartAsync($"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: sample-api
                static_configs:
                  - targets: ["{target}"]
            """);

        var result = await prometheus.WaitForQueryResultAsync(
            "http_requests_total{endpoint=\"/api/items/{id:int}\"}",
            TimeSpan.FromSeconds(30),
            r => r.EnumerateArray().Any(s => s.GetProperty("metric").GetProperty("status").GetString() == "200"));

        var series = result.EnumerateArray().Select(s => s.GetProperty("metric")).ToList();
        Assert.Contains(series, m => m.GetProperty("status").GetString() == "200" && m.GetProperty("method").GetString() == "GET");
        Assert.Contains(series, m => m.GetProperty("status").GetString() == "404");
        Assert.All(series, m =>
        {
            Assert.Equal("sample-api", m.GetProperty("job").GetString());
            Assert.Equal(target, m.GetProperty("instance").GetString());
        });

        var up = await prometheus.WaitForQueryResultAsync("up{job=\"sample-api\"}", TimeSpan.FromSeconds(10));
        Assert.Equal("1", up[0].GetProperty("value")[1].GetString());
        var unmatched = await prometheus.WaitForQueryResultAsync("http_requests_total{endpoint=\"unmatched\"}", TimeSpan.FromSeconds(10));
        Assert.Equal("404", unmatched[0].GetProperty("metric").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readme_metrics_reference_matches_a_live_scrape()
    {
        var documented = ReadReferenceTable();
        var exposition = await ScrapeAsync();
        var types = new Dictionary<string, string>();
        foreach (Match m in TypeLine().Matches(exposition))
        {
            types[m.Groups[1].Value] = m.Groups[2].Value;
        }

        // Every documented metric is served with its documented type...
        foreach (var (name, (type, _)) in documented)
        {
            Assert.True(types.TryGetValue(name, out var served), $"docs/metrics.md documents {name}, but /metrics does not serve it");
            Assert.True(type == served, $"docs/metrics.md says {name} is a {type}; /metrics says {served}");
        }

        // ...every served metric is documented (the sample runs with an allow list that keeps out other meters)...
        foreach (var name in types.Keys)
        {
            Assert.True(documented.ContainsKey(name), $"/metrics serves {name}, which the reference table in docs/metrics.md does not list");
        }

        // ...and every sample line carries exactly the documented labels.
        foreach (Match m in SampleLine().Matches(exposition))
        {
            var family = FamilyOf(m.Groups["name"].Value, types);
            var labels = LabelName().Matches(m.Groups["labels"].Value).Select(l => l.Groups[1].Value).Where(l => l != "le").Order(StringComparer.Ordinal).ToArray();
            var expected = documented[family].Labels.Order(StringComparer.Ordinal).ToArray();
            Assert.True(expected.SequenceEqual(labels), $"{m.Value.Trim()}: labels [{string.Join(", ", labels)}], docs/metrics.md says [{string.Join(", ", expected)}]");
        }
    }

    private static string FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName))
        {
            return sampleName;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(sampleName[..^suffix.Length]))
            {
                return sampleName[..^suffix.Length];
            }
        }

        throw new InvalidOperationException($"No # TYPE for sample {sampleName}");
    }

    internal static Dictionary<string, (string Type, string[] Labels)> ReadReferenceTable()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "metrics.md"));
        var start = readme.IndexOf("<!-- metrics-reference:start -->", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- metrics-reference:end -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docs/metrics.md has no metrics-reference markers");

        var table = new Dictionary<string, (string, string[])>();
        foreach (var line in readme[start..end].Split('\n'))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (cells.Length < 5 || !cells[1].StartsWith('`'))
            {
                continue;
            }

            var labels = cells[3].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim('`')).ToArray();
            table[cells[1].Trim('`')] = (cells[2], labels);
        }

        Assert.True(table.Count >= 10, $"docs/metrics.md reference parsed only {table.Count} rows");
        return table;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Observability.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Observability.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? \S+$", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelName();
}
