using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowRequests;

internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.SlowRequest, EventName = nameof(EventIds.SlowRequest), Level = LogLevel.Warning,
        Message = "Slow request {RequestMethod} {RequestPath} ({Route}) answered {StatusCode} in {Elapsed} ms (threshold {ThresholdMs} ms)")]
    public static partial void SlowRequest(this ILogger logger, string requestMethod, string requestPath, string route, int statusCode, double elapsed, int thresholdMs);

    // Written from the monitor's timer, outside the request's execution context, so RequestId is an explicit property.
    [LoggerMessage(EventId = EventIds.HungRequest, EventName = nameof(EventIds.HungRequest), Level = LogLevel.Warning,
        Message = "Request {RequestMethod} {RequestPath} ({Route}) still running after {Elapsed} ms (request {RequestId})")]
    public static partial void HungRequest(this ILogger logger, string requestMethod, string requestPath, string route, double elapsed, string requestId);

    [LoggerMessage(EventId = EventIds.SlowRequestWarningsSuppressed, EventName = nameof(EventIds.SlowRequestWarningsSuppressed), Level = LogLevel.Warning,
        Message = "Suppressed {SuppressedCount} slow/hung request warnings in the last second (limit {MaxWarningsPerSecond} per second); they are still counted in the metrics")]
    public static partial void WarningsSuppressed(this ILogger logger, long suppressedCount, int maxWarningsPerSecond);
}
