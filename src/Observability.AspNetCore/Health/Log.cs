using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Health;

/// <summary>The health feature's log events (ids 1400+). Transitions only: a check that stays down is logged once, not per probe.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.HealthCheckFailed, EventName = nameof(EventIds.HealthCheckFailed), Level = LogLevel.Warning,
        Message = "Health check {HealthCheck} is {HealthStatus} after {Elapsed} ms: {Reason}")]
    public static partial void HealthCheckFailed(this ILogger logger, string healthCheck, string healthStatus, double elapsed, string reason);

    [LoggerMessage(EventId = EventIds.HealthCheckRecovered, EventName = nameof(EventIds.HealthCheckRecovered), Level = LogLevel.Information,
        Message = "Health check {HealthCheck} is {HealthStatus} again (was {PreviousStatus}) after {Elapsed} ms")]
    public static partial void HealthCheckRecovered(this ILogger logger, string healthCheck, string healthStatus, string previousStatus, double elapsed);

    [LoggerMessage(EventId = EventIds.HealthCheckStillRunning, EventName = nameof(EventIds.HealthCheckStillRunning), Level = LogLevel.Warning,
        Message = "Health check {HealthCheck} ignored its {TimeoutMs} ms timeout and is still running; it is reported as timed out, and no other run starts, until it returns")]
    public static partial void HealthCheckStillRunning(this ILogger logger, string healthCheck, int timeoutMs);

    [LoggerMessage(EventId = EventIds.ShutdownDrainStarted, EventName = nameof(EventIds.ShutdownDrainStarted), Level = LogLevel.Information,
        Message = "Shutdown started: readiness answers 503; requests are still served for {DelayMs} ms before the server stops accepting new ones")]
    public static partial void ShutdownDrainStarted(this ILogger logger, int delayMs);
}
