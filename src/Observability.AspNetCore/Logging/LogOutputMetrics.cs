using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Logging;

/// <summary>The logging feature's own metric: how many lines stdout did not take.</summary>
internal static class LogOutputMetrics
{
    public static void Register(MetricFamilyFactory families, LogLineSink stdout)
    {
        // Made by the first scrape, like the runtime families: nothing reads it before one.
        var dropped = new Lazy<Prometheus.Counter>(
            () => families.CreateCounter(
                MetricFamilies.LogLinesDropped,
                "Log lines dropped because stdout did not take them: its buffer (Observability:Logging:StdoutBufferBytes) was full, or writing failed."),
            LazyThreadSafetyMode.PublicationOnly);

        // Counted by the sink without touching the metric on the request path; brought up to date before every scrape.
        families.Registry.AddBeforeCollectCallback(() => dropped.Value.IncTo(stdout.DroppedLines));
    }
}
