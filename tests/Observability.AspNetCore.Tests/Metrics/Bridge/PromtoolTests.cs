using System.Diagnostics.Metrics;
using Observability.AspNetCore.Metrics.Bridge;
using Observability.AspNetCore.Metrics.Runtime;
using static Observability.AspNetCore.Tests.Metrics.Bridge.ScrapeText;
using static Observability.AspNetCore.Tests.Support.Exposition;

namespace Observability.AspNetCore.Tests.Metrics.Bridge;

/// <summary>The whole exposition (bridged instruments of every kind and the runtime metrics) passes the real promtool.</summary>
[Collection(ProcessWideMetersCollection.Name)]
public sealed class PromtoolTests
{
    [Theory]
    [InlineData("")]
    [InlineData("shop_")]
    public async Task Bridge_and_runtime_metrics_pass_promtool_check_metrics(string prefix)
    {
        var meterName = UniqueMeterName("promtool");
        using var meter = new Meter(meterName);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var bridge = new MeterBridge(registry, [meterName], []);
        RuntimeMetrics.Register(registry, prefix, "s", "v", "e");

        // Names chosen to hit every rename rule: dotted, camelCase, units to convert, reserved suffixes, reserved labels.
        meter.CreateCounter<long>("bookings").Add(3, new KeyValuePair<string, object?>("kind", "x"));
        meter.CreateCounter<long>("requests.total", unit: "{request}").Add(1, new KeyValuePair<string, object?>("httpMethod", "GET"));
        meter.CreateCounter<double>("cpu.time", unit: "ms").Add(12.5);
        meter.CreateHistogram<double>("db.client.commands.duration", unit: "s").Record(0.02, new KeyValuePair<string, object?>("db.system", "postgresql"));
        meter.CreateHistogram<double>("queue.wait", unit: "ms").Record(120, new KeyValuePair<string, object?>("le", "oops"));
        meter.CreateHistogram<long>("payload.size", unit: "By").Record(5000);
        meter.CreateHistogram<int>("batches.total").Record(3);
        meter.CreateUpDownCounter<int>("sessions.active", unit: "{session}").Add(2);
        meter.CreateUpDownCounter<int>("items.count").Add(4);
        meter.CreateObservableGauge("memory.total", () => 1.0);
        meter.CreateObservableGauge("cache.bucket", () => 2, description: "Multi-line\nhelp with a \\ backslash.");
        meter.CreateObservableUpDownCounter("pool.sum", () => 5L, unit: "KiBy");
        meter.CreateObservableCounter("network.io", () => 4096L, unit: "By", description: "Bytes moved.");
        meter.CreateObservableCounter("uptime", () => 1.5, unit: "min");
        meter.CreateGauge<double>("temperature", unit: "Cel").Record(21.5, new KeyValuePair<string, object?>("quantile", "q"));
        meter.CreateGauge<double>("throughput", unit: "By/s").Record(10);
        meter.CreateCounter<int>("trace:spans").Add(1, new KeyValuePair<string, object?>("9th", "a"), new KeyValuePair<string, object?>("__reserved", "b"));

        var text = await ScrapeAsync(registry);
        var (exitCode, output) = await PromtoolCheckMetricsAsync(text);

        Assert.True(exitCode == 0, $"promtool check metrics exited {exitCode}:\n{output}\n--- exposition ---\n{text}");

        // The bridged names, not just the runtime ones, made it into the checked text.
        Assert.Contains("# TYPE bookings_total counter", Lines(text));
        Assert.Contains("# TYPE queue_wait_seconds histogram", Lines(text));
        Assert.Contains("# TYPE cache_bucket_value gauge", Lines(text));
        Assert.Contains("# TYPE trace_spans_total counter", Lines(text));
        Assert.Contains($"# TYPE {prefix}process_cpu_seconds_total counter", Lines(text));
    }

    [Fact]
    public async Task Promtool_itself_rejects_what_prometheus_net_default_adapters_would_produce()
    {
        // Guards the test above against a promtool that accepts everything.
        const string bad = "# HELP x_total A gauge ending in total.\n# TYPE x_total gauge\nx_total 1\n# HELP y_milliseconds Not a base unit.\n# TYPE y_milliseconds gauge\ny_milliseconds 1\n";
        var (exitCode, output) = await PromtoolCheckMetricsAsync(bad);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("non-counter metrics should not have \"_total\" suffix", output, StringComparison.Ordinal);
        Assert.Contains("use base unit \"seconds\" instead of \"milliseconds\"", output, StringComparison.Ordinal);
    }
}
