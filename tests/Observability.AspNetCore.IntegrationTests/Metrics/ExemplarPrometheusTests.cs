using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.IntegrationTests.Tracing;

namespace Observability.AspNetCore.IntegrationTests.Metrics;

/// <summary>
/// The sample with tracing on, scraped by a real Prometheus with exemplar storage: Prometheus negotiates OpenMetrics,
/// stores the trace ID of a request as an exemplar of its duration histogram, and gets every family it got before.
/// </summary>
public sealed partial class ExemplarPrometheusTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Real_prometheus_stores_a_request_s_trace_id_as_an_exemplar_and_scrapes_every_family_as_before()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = OtlpTraceExportTests.TracingTo(receiver);
        // Only the library's own metrics, as in the reference check: other meters are the app's business.
        environment["Observability__Metrics__Meters__0"] = "No.Such.Meter";
        await using var sample = await SampleApiProcess.StartAsync(environment);

        using var response = await sample.Client.GetAsync(new Uri("/api/items/1", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
        var traceId = completion.StringProperty("@tr");
        Assert.False(string.IsNullOrEmpty(traceId), $"The completion event has no @tr:\n{completion}");

        // The classic text, as a client without Accept gets it, passes promtool and carries no exemplar.
        var classic = await sample.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var check = await PromTools.CheckMetricsAsync(classic);
        Assert.True(check.Succeeded, $"promtool check metrics:\n{check.CombinedOutput}\n--- exposition ---\n{classic}");
        Assert.DoesNotContain("trace_id", classic, StringComparison.Ordinal);

        await using var prometheus = await PrometheusServer.StartAsync($"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: sample-api
                static_configs:
                  - targets: ["{sample.App.BaseAddress.Host}:{sample.App.BaseAddress.Port}"]
            """, features: ["exemplar-storage"]);

        var exemplar = await WaitForExemplarAsync(prometheus, traceId!);
        Assert.Equal("/api/items/{id:int}", exemplar.Series.GetProperty("endpoint").GetString());
        Assert.Equal("200", exemplar.Series.GetProperty("status").GetString());
        Assert.Equal(completion.StringProperty("@sp"), exemplar.Labels.GetProperty("span_id").GetString());

        // Every series name Prometheus stored from OpenMetrics is one the classic text serves, and the reverse.
        var (stored, served) = await WaitForSameNamesAsync(prometheus, sample);
        Assert.True(stored.SetEquals(served),
            $"Stored from OpenMetrics but not in the classic text: [{string.Join(", ", stored.Except(served))}]; "
            + $"in the classic text but not stored: [{string.Join(", ", served.Except(stored))}]");

        // ...and each belongs to a family of the reference in docs/metrics.md, counters still counters.
        var documented = PrometheusToolsTests.ReadReferenceTable();
        foreach (var name in stored)
        {
            Assert.True(documented.Keys.Any(family => name == family || (documented[family].Type == "histogram" && name.StartsWith(family + "_", StringComparison.Ordinal))),
                $"Prometheus stored {name}, which is in no family of docs/metrics.md");
        }

        using var metadata = await prometheus.GetAsync("api/v1/metadata");
        var types = metadata.RootElement.GetProperty("data");
        foreach (var (family, (type, _)) in documented.Where(d => d.Value.Type == "counter" && stored.Contains(d.Key)))
        {
            // OpenMetrics names a counter family without _total.
            var name = family[..^"_total".Length];
            Assert.True(types.TryGetProperty(name, out var entry), $"Prometheus has no metadata for the counter family {name}");
            Assert.Equal(type, entry[0].GetProperty("type").GetString());
        }
    }

    private static async Task<(JsonElement Series, JsonElement Labels)> WaitForExemplarAsync(PrometheusServer prometheus, string traceId)
    {
        var deadline = Stopwatch.StartNew();
        var last = "<no answer yet>";
        while (deadline.Elapsed < Timeout)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var query = Uri.EscapeDataString("http_request_duration_seconds_bucket{job=\"sample-api\"}");
            using var answer = await prometheus.GetAsync(string.Create(CultureInfo.InvariantCulture,
                $"api/v1/query_exemplars?query={query}&start={now - 600}&end={now + 60}"));
            last = answer.RootElement.GetRawText();
            if (answer.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                foreach (var series in data.EnumerateArray())
                {
                    foreach (var exemplar in series.GetProperty("exemplars").EnumerateArray())
                    {
                        var labels = exemplar.GetProperty("labels");
                        if (labels.TryGetProperty("trace_id", out var id) && id.GetString() == traceId)
                        {
                            return (series.GetProperty("seriesLabels").Clone(), labels.Clone());
                        }
                    }
                }
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"No exemplar with trace_id {traceId} within {Timeout.TotalSeconds} s. Last answer: {last}\n--- prometheus log ---\n{prometheus.LogTail}");
    }

    /// <summary>
    /// The series names Prometheus stored for the job (its own <c>up</c> and <c>scrape_*</c> aside) and those of the
    /// classic text, polled until they agree: background series (health checks) may appear between two scrapes.
    /// </summary>
    private static async Task<(HashSet<string> Stored, HashSet<string> Served)> WaitForSameNamesAsync(PrometheusServer prometheus, SampleApiProcess sample)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var stored = new HashSet<string>(StringComparer.Ordinal);
            using (var answer = await prometheus.QueryAsync("group by (__name__) ({job=\"sample-api\"})"))
            {
                foreach (var series in answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
                {
                    var name = series.GetProperty("metric").GetProperty("__name__").GetString()!;
                    if (name != "up" && !name.StartsWith("scrape_", StringComparison.Ordinal))
                    {
                        stored.Add(name);
                    }
                }
            }

            var classic = await sample.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            var served = SampleName().Matches(classic).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            if (stored.SetEquals(served) || deadline.Elapsed > Timeout)
            {
                return (stored, served);
            }

            await Task.Delay(500);
        }
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", RegexOptions.Multiline)]
    private static partial Regex SampleName();
}
