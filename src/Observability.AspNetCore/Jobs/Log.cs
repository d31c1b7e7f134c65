using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Jobs;

/// <summary>The jobs feature's log events (ids 1500+).</summary>
internal static partial class Log
{
    /// <summary>One per run: Information when it succeeded or was cancelled, Error with the exception when it failed.</summary>
    [LoggerMessage(EventId = EventIds.JobRunCompleted, EventName = nameof(EventIds.JobRunCompleted), Message = "Job {JobName} run {JobRunId} {Outcome} in {Elapsed} ms")]
    public static partial void JobRunCompleted(this ILogger logger, LogLevel level, Exception? exception, string jobName, string jobRunId, string outcome, double elapsed);

    [LoggerMessage(EventId = EventIds.SlowJobRun, EventName = nameof(EventIds.SlowJobRun), Level = LogLevel.Warning,
        Message = "Slow job run: {JobName} run {JobRunId} {Outcome} in {Elapsed} ms (threshold {ThresholdMs} ms)")]
    public static partial void SlowJobRun(this ILogger logger, string jobName, string jobRunId, string outcome, double elapsed, int thresholdMs);

    [LoggerMessage(EventId = EventIds.JobNamesCapped, EventName = nameof(EventIds.JobNamesCapped), Level = LogLevel.Warning,
        Message = "More than {MaxJobNames} distinct {Kind} names: {Name} and any further ones are counted under 'other' in the metrics (Observability:Jobs:MaxJobNames)")]
    public static partial void NamesCapped(this ILogger logger, int maxJobNames, string kind, string name);
}
