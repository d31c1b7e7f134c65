using Microsoft.Extensions.Logging;
using Prometheus;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Items exported and dropped (spans as <c>otlp_spans_exported_total</c>/<c>otlp_spans_dropped_total</c>, log records
/// as <c>otlp_log_records_*</c>), and a Warning at most once a minute while exports fail, with the items dropped since
/// the last one.
/// </summary>
internal sealed class TracingExportStats(Uri endpoint, Action<ILogger, Uri, long> warn)
{
    private const long WarningIntervalMs = 60_000;

    private long _droppedSinceWarning;
    private long _nextWarningAt = long.MinValue;
    private Counter? _exported;
    private Counter? _dropped;
    private ILogger? _logger;

    public TracingExportStats(Counter? exported, Counter? dropped, Uri endpoint, ILogger logger)
        : this(endpoint, Log.OtlpExportFailed) => Attach(exported, dropped, logger);

    /// <summary>
    /// Where counts and warnings go. Log records get them only once the host starts: the log pipeline that exports them
    /// is built before the metrics and the logger exist. Drops before then are in the first warning's count.
    /// </summary>
    public void Attach(Counter? exported, Counter? dropped, ILogger logger)
    {
        _exported = exported;
        _dropped = dropped;
        Volatile.Write(ref _logger, logger);
    }

    public void Record(bool success, long items)
    {
        if (success)
        {
            _exported?.Inc(items);
            return;
        }

        _dropped?.Inc(items);
        Interlocked.Add(ref _droppedSinceWarning, items);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextWarningAt);
        if (Volatile.Read(ref _logger) is { } logger && now >= next && Interlocked.CompareExchange(ref _nextWarningAt, now + WarningIntervalMs, next) == next)
        {
            warn(logger, endpoint, Interlocked.Exchange(ref _droppedSinceWarning, 0));
        }
    }
}
