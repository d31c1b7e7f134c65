using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowQueries;

// RequestId is not a parameter: these events are written on the request's execution context (EF Core and Npgsql call
// back on it), so the enricher adds the request's ID, and leaves it out for a command that runs outside any request.
internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.SlowQuery, EventName = nameof(EventIds.SlowQuery), Level = LogLevel.Warning,
        Message = "Slow query on {DbSystem} ({Database}) took {DurationMs} ms (threshold {ThresholdMs} ms): {CommandText}")]
    public static partial void SlowQuery(this ILogger logger, string dbSystem, string database, double durationMs, int thresholdMs, string commandText);

    [LoggerMessage(EventId = EventIds.SlowQueryFailed, EventName = nameof(EventIds.SlowQueryFailed), Level = LogLevel.Warning,
        Message = "Slow query on {DbSystem} ({Database}) failed with {ErrorType} after {DurationMs} ms (threshold {ThresholdMs} ms): {CommandText}")]
    public static partial void SlowQueryFailed(this ILogger logger, string dbSystem, string database, string errorType, double durationMs, int thresholdMs, string commandText);

    [LoggerMessage(EventId = EventIds.RepeatedQuery, EventName = nameof(EventIds.RepeatedQuery), Level = LogLevel.Warning,
        Message = "Repeated query: one {DbSystem} command ran {Count} times in a request to {Route} (threshold {RepeatedQueryThreshold}): {CommandText}")]
    public static partial void RepeatedQuery(this ILogger logger, string dbSystem, int count, string route, int repeatedQueryThreshold, string commandText);

    [LoggerMessage(EventId = EventIds.QueryWarningsSuppressed, EventName = nameof(EventIds.QueryWarningsSuppressed), Level = LogLevel.Warning,
        Message = "Suppressed {SuppressedCount} slow/repeated query warnings in the last second (limit {MaxWarningsPerSecond} per second); they are still counted in the metrics")]
    public static partial void WarningsSuppressed(this ILogger logger, long suppressedCount, int maxWarningsPerSecond);
}
