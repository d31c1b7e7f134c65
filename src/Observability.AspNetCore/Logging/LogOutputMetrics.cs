using Prometheus;

namespace Observability.AspNetCore.Logging;

/// <summary>The logging feature's own metric: how many lines stdout did not take.</summary>
internal static class LogOutputMetrics
{
    public const string DroppedLinesName = "log_lines_dropped_total";

    public static void Register(CollectorRegistry registry, IMetricFactory factory, string prefix, LogLineSink stdout)
    {
        var dropped = factory.CreateCounter(
            prefix + DroppedLinesName,
            "Log lines dropped because stdout did not take them: its buffer (Observability:Logging:StdoutBufferBytes) was full, or writing failed.");

        // Counted by the sink without touching the metric on the request path; brought up to date before every scrape.
        registry.AddBeforeCollectCallback(() => dropped.IncTo(stdout.DroppedLines));
    }
}
