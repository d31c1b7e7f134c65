using Microsoft.Extensions.Logging;
using Prometheus;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Spans exported and dropped, as <c>otlp_spans_exported_total</c> and <c>otlp_spans_dropped_total</c>, and a Warning
/// at most once a minute while exports fail, with the spans dropped since the last one.
/// </summary>
internal sealed class TracingExportStats(Counter? exported, Counter? dropped, Uri endpoint, ILogger logger)
{
    private const long WarningIntervalMs = 60_000;

    private long _droppedSinceWarning;
    private long _nextWarningAt = long.MinValue;

    public void Record(bool success, long spans)
    {
        if (success)
        {
            exported?.Inc(spans);
            return;
        }

        dropped?.Inc(spans);
        Interlocked.Add(ref _droppedSinceWarning, spans);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextWarningAt);
        if (now >= next && Interlocked.CompareExchange(ref _nextWarningAt, now + WarningIntervalMs, next) == next)
        {
            logger.OtlpExportFailed(endpoint, Interlocked.Exchange(ref _droppedSinceWarning, 0));
        }
    }
}
