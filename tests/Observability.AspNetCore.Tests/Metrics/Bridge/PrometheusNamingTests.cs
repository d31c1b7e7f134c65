using Observability.AspNetCore.Metrics.Bridge;

namespace Observability.AspNetCore.Tests.Metrics.Bridge;

public sealed class PrometheusNamingTests
{
    [Theory]
    [InlineData("db.client.commands.duration", "db_client_commands_duration")]
    [InlineData("http-client/request..size", "http_client_request_size")]
    [InlineData("requestCount", "request_count")]
    [InlineData("HTTPServer", "httpserver")]
    [InlineData("kestrel:connections", "kestrel_connections")]
    [InlineData("__private__", "private")]
    [InlineData("9lives", "_9lives")]
    [InlineData("...", "")]
    [InlineData("caf\u00e9.visits", "caf_visits")]
    public void Names_are_sanitized_to_lower_snake_case(string raw, string expected) =>
        Assert.Equal(expected, PrometheusNaming.Sanitize(raw));

    [Theory]
    [InlineData("request.duration", "s", "Histogram", "request_duration_seconds")]
    [InlineData("request.duration.seconds", "s", "Histogram", "request_duration_seconds")]
    [InlineData("latency_ms", "ms", "Histogram", "latency_seconds")]
    [InlineData("uptime", "min", "Gauge", "uptime_seconds")]
    [InlineData("bytes.sent", "By", "Counter", "bytes_sent_total")]
    [InlineData("io", "KiBy", "Counter", "io_bytes_total")]
    [InlineData("throughput", "By/s", "Gauge", "throughput_bytes_per_second")]
    [InlineData("rate", "{request}/s", "Gauge", "rate_per_second")]
    [InlineData("requests", "{request}", "Counter", "requests_total")]
    [InlineData("requests.total", null, "Counter", "requests_total")]
    [InlineData("ratio", "1", "Gauge", "ratio")]
    [InlineData("cpu", "%", "Gauge", "cpu_percent")]
    [InlineData("queue.count", null, "Gauge", "queue_count_value")]
    [InlineData("latency.sum", null, "UpDownCounter", "latency_sum_value")]
    [InlineData("le.bucket", null, "Gauge", "le_bucket_value")]
    [InlineData("heap.total", "By", "Gauge", "heap_total_bytes")]
    [InlineData("heap.total", null, "Gauge", "heap_total_value")]
    [InlineData("batch.total", null, "Histogram", "batch_total_value")]
    [InlineData("items.count", null, "Counter", "items_count_total")]
    [InlineData("items.count", null, "Histogram", "items_count")]
    public void Metric_names_carry_the_unit_and_type_suffixes_promtool_expects(string name, string? unit, string kind, string expected) =>
        Assert.Equal(expected, PrometheusNaming.MetricName(name, PrometheusNaming.ResolveUnit(unit), Enum.Parse<BridgedKind>(kind)));

    [Theory]
    [InlineData("ms", 1500, 1.5)]
    [InlineData("us", 2_000_000, 2)]
    [InlineData("min", 2, 120)]
    [InlineData("KiBy", 2, 2048)]
    [InlineData("bit", 16, 2)]
    public void Units_are_converted_to_the_prometheus_base_unit(string unit, double value, double expected) =>
        Assert.Equal(expected, PrometheusNaming.ResolveUnit(unit)!.Convert(value));

    [Theory]
    [InlineData("http.route", "http_route")]
    [InlineData("le", "exported_le")]
    [InlineData("quantile", "exported_quantile")]
    [InlineData("service", "exported_service")]
    [InlineData("userId", "user_id")]
    [InlineData("__meta", "meta")]
    public void Label_names_are_sanitized_and_reserved_names_renamed(string key, string expected) =>
        Assert.Equal(expected, PrometheusNaming.LabelName(key, ["service"]));
}
