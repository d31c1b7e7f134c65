using System.Diagnostics;
using System.Net;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;
using Xunit.Abstractions;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// A collector that refuses connections, accepts them and never answers, or cannot be reached: the app answers every
/// request as before, logs every completion event, and still stops on SIGTERM within the exporter's timeout.
/// </summary>
public sealed class BrokenCollectorTests(ITestOutputHelper output)
{
    private const int ExporterTimeoutMs = 1000;

    [Theory]
    [InlineData("refused", "http/protobuf")]
    [InlineData("silent", "http/protobuf")]
    [InlineData("silent", "grpc")]
    [InlineData("unreachable", "http/protobuf")]
    public async Task A_broken_collector_costs_requests_nothing_and_shutdown_waits_at_most_the_exporter_timeout(string kind, string protocol)
    {
        using var silent = new SilentListener();
        var endpoint = kind switch
        {
            "refused" => $"http://127.0.0.1:{FreePort.Next()}",
            "silent" => $"http://127.0.0.1:{silent.Port}",
            _ => "http://192.0.2.1:4318", // TEST-NET-1: routed nowhere
        };
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Observability__Otlp__Endpoint"] = endpoint,
            ["Observability__Otlp__Protocol"] = protocol,
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            // Small batches, so that many are queued behind a collector that never answers: each would get a full timeout.
            ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "4",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = ExporterTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        for (var i = 0; i < 40; i++)
        {
            using var response = await sample.Client.GetAsync(i % 2 == 0 ? "/api/items" : "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
            await Task.Delay(20);
        }

        if (kind == "silent")
        {
            Assert.True(silent.AcceptedConnections > 0, "The exporter never tried the collector.");
        }

        // What an operator sees: the lost spans counted on /metrics, and one Warning (at most one a minute) naming the
        // collector, never its headers.
        var dropped = await WaitForCounterAsync(sample, "otlp_spans_dropped_total");
        Assert.True(dropped > 0);
        var warnings = sample.App.JsonLines().Where(e => e.TryGetProperty("EventId", out var id) && id.StringProperty("Name") == "OtlpExportFailed").ToList();
        var warning = Assert.Single(warnings);
        Assert.Equal("Warning", warning.Level());
        Assert.StartsWith(endpoint, warning.StringProperty("OtlpEndpoint"), StringComparison.Ordinal);
        Assert.True(warning.GetProperty("DroppedSpans").GetInt64() > 0, warning.ToString());

        var clock = Stopwatch.StartNew();
        var exitCode = await sample.App.StopWithSigtermAsync();
        output.WriteLine($"{kind}/{protocol}: stopped in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, exitCode);

        // The host's own shutdown (drain, log flush: well under a second) plus at most one exporter timeout; left to
        // itself the SDK waits up to 5 s for the queued batches, whatever the timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(ExporterTimeoutMs + 2500), $"Shutdown took {clock.ElapsedMilliseconds} ms.\n{sample.App.OutputDump}");
    }

    /// <summary>Polls the scrape until the unlabelled counter is above zero and at least <paramref name="atLeast"/>; returns its value.</summary>
    internal static async Task<double> WaitForCounterAsync(SampleApiProcess sample, string name, double atLeast = 0)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var scrape = await sample.Client.GetStringAsync("/metrics");
            var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            var value = line is null ? 0 : double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            if (value > 0 && value >= atLeast)
            {
                return value;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{name} stayed at {value}. Last scrape:\n{scrape}");
            await Task.Delay(200);
        }
    }
}
