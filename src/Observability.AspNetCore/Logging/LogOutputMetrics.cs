using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Logging;

/// <summary>The logging feature's own metric: how many lines stdout did not take.</summary>
internal static class LogOutputMetrics
{
    public static void Register(MetricFamilyFactory families, LogLineSink stdout)
    {
        // Counted by the sink without touching the metric on the request path; brought up to date before every scrape.
        families.CreateAtFirstScrape(
            static f => f.CreateCounter(
                MetricFamilies.LogLinesDropped,
                "Log lines dropped because stdout did not take them: its buffer (Observability:Logging:StdoutBufferBytes) was full, or writing failed."),
            dropped => dropped.IncTo(stdout.DroppedLines));
    }
}
