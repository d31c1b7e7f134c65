using System.Diagnostics;

namespace Observability.AspNetCore.Jobs;

/// <summary>
/// The span of a job run, when tracing listens (otherwise one <see cref="ActivitySource.HasListeners"/> check): a root
/// span of its own, kind Consumer, linked to the enqueuing request's span as OpenTelemetry's messaging conventions link
/// a message's processing to its producer, never parented under it, so the request's trace is not held open by work
/// that runs later, possibly for minutes.
/// </summary>
internal static class JobSpans
{
    public const string SourceName = "Observability.AspNetCore.Jobs";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the run's span as the current activity, or returns null when nobody listens.</summary>
    public static Activity? Start(string jobName, string jobRunId, string? originRequestId, ActivityContext origin)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // A root: without this, a run started inside a request (or another run) would take the ambient activity as parent.
        Activity.Current = null;
        ActivityLink[]? links = origin == default ? null : [new ActivityLink(origin)];
        var activity = Source.StartActivity($"process {jobName}", ActivityKind.Consumer, parentContext: default, tags: null, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("job.name", jobName);
            activity.SetTag("job.run_id", jobRunId);
            if (originRequestId is not null)
            {
                activity.SetTag("request.id", originRequestId);
            }
        }

        return activity;
    }

    public static void Stop(Activity? activity, JobOutcome outcome, Exception? failure)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("job.outcome", outcome switch
        {
            JobOutcome.Succeeded => "succeeded",
            JobOutcome.Failed => "failed",
            _ => "cancelled",
        });
        if (failure is not null && outcome == JobOutcome.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", failure.GetType().FullName);
            activity.AddException(failure);
        }

        activity.Stop();
    }
}
