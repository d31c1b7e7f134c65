using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// The tracing feature's families. Created with the other families whether tracing is on or not, so a scrape serves the
/// same families in every configuration and an alert on them never sees a family appear; they stay 0 while tracing is off.
/// </summary>
internal static class TracingMetrics
{
    public static (Counter Exported, Counter Dropped) Register(MetricFamilyFactory families) => (
        families.CreateCounter(MetricFamilies.OtlpSpansExported, "Spans the OTLP collector accepted."),
        families.CreateCounter(MetricFamilies.OtlpSpansDropped, "Spans lost because their export to the OTLP collector failed."));

    /// <summary>The families of logs over OTLP (<c>Observability:Otlp:Logs</c>), served at 0 while it is off.</summary>
    public static (Counter Exported, Counter Dropped) RegisterLogs(MetricFamilyFactory families) => (
        families.CreateCounter(MetricFamilies.OtlpLogRecordsExported, "Log records the OTLP collector accepted."),
        families.CreateCounter(MetricFamilies.OtlpLogRecordsDropped, "Log records lost because their export to the OTLP collector failed."));
}
