namespace Observability.AspNetCore;

/// <summary>
/// Runs a unit of background work with the same observability as a request: every event written while it runs carries
/// <c>JobName</c> and <c>JobRunId</c> (and the enqueuing request's <c>RequestId</c> when an origin is passed), one
/// completion event says how it ended, and the <c>job_*</c> metrics count it. Use it from any hosted service, queue
/// consumer or timer; registered by <c>AddObservability()</c>.
/// </summary>
/// <example>
/// <code>
/// await jobs.RunAsync("send-email", ct => mailer.SendAsync(message, ct), stoppingToken);
/// </code>
/// </example>
public interface IJobRunner
{
    /// <summary>
    /// Runs <paramref name="work"/> as one run of the job <paramref name="jobName"/>. An exception from the work is logged
    /// once (Error with the exception) and returned in the result, not rethrown, so a worker loop keeps running unless it
    /// rethrows it; an <see cref="OperationCanceledException"/> while <paramref name="cancellationToken"/> is cancelled
    /// ends the run as <see cref="JobOutcome.Cancelled"/>.
    /// </summary>
    /// <param name="jobName">The job's name: a small fixed set (it is a metric label), e.g. <c>send-email</c>.</param>
    /// <param name="work">The work; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Flows to the work.</param>
    /// <returns>How the run ended.</returns>
    Task<JobRunResult> RunAsync(string jobName, Func<CancellationToken, Task> work, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> as one run of <paramref name="jobName"/> on behalf of <paramref name="origin"/>, the
    /// request (or run) that enqueued it, captured there with <see cref="CaptureOrigin"/>: the run's events carry that
    /// request's <c>RequestId</c>.
    /// </summary>
    /// <param name="jobName">The job's name.</param>
    /// <param name="origin">Where the work was enqueued; null when unknown.</param>
    /// <param name="work">The work; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Flows to the work.</param>
    /// <returns>How the run ended.</returns>
    Task<JobRunResult> RunAsync(string jobName, JobOrigin? origin, Func<CancellationToken, Task> work, CancellationToken cancellationToken);

    /// <summary>Runs synchronous <paramref name="work"/> as one run of <paramref name="jobName"/>; otherwise as <see cref="RunAsync(string, JobOrigin?, Func{CancellationToken, Task}, CancellationToken)"/>.</summary>
    /// <param name="jobName">The job's name.</param>
    /// <param name="origin">Where the work was enqueued; null when unknown.</param>
    /// <param name="work">The work; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Flows to the work.</param>
    /// <returns>How the run ended.</returns>
    JobRunResult Run(string jobName, JobOrigin? origin, Action<CancellationToken> work, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current request's (or job run's) identity, to store with work that is enqueued now and run later:
    /// its <c>RequestId</c> and W3C trace context. Empty outside a request or run.
    /// </summary>
    /// <returns>The origin to pass to <see cref="RunAsync(string, JobOrigin?, Func{CancellationToken, Task}, CancellationToken)"/>.</returns>
    JobOrigin CaptureOrigin();

    /// <summary>
    /// Reports the depth of a queue the app consumes, published as <c>job_queue_depth{queue}</c> (the last value reported).
    /// Call it from the consumer loop when it looks at the queue; queue names are bounded like job names.
    /// </summary>
    /// <param name="queue">The queue's name.</param>
    /// <param name="depth">Items waiting.</param>
    void ReportQueueDepth(string queue, long depth);

    /// <summary>
    /// Registers a worker loop with a beat interval: one health check <c>worker:{name}</c> (tagged <c>live</c> by default,
    /// <c>Observability:Jobs:WorkerChecks</c>) that is Unhealthy when the loop stalls or ends while the app runs, an entry
    /// in <c>/health/detailed</c>'s <c>workers</c>, and <c>worker_last_beat_timestamp_seconds{worker}</c>.
    /// </summary>
    /// <param name="name">The worker's name: a small fixed set, like job names.</param>
    /// <param name="beatInterval">No beat for longer than this, outside a queue wait, is a stall.</param>
    /// <returns>The worker's heartbeat; dispose it when the loop ends.</returns>
    IWorkerBeat RegisterWorker(string name, TimeSpan beatInterval);
}

/// <summary>Which probe the worker checks belong to (<c>Observability:Jobs:WorkerChecks</c>).</summary>
public enum WorkerCheckProbe
{
    /// <summary>Tagged <c>live</c>: a stuck worker is what a restart fixes. The default.</summary>
    Live = 0,

    /// <summary>Tagged <c>ready</c>: a stuck worker takes the instance out of the load balancer instead.</summary>
    Ready = 1,

    /// <summary>Neither probe; the checks still show in <c>/health/detailed</c>.</summary>
    None = 2,
}

/// <summary>How a job run ended.</summary>
public enum JobOutcome
{
    /// <summary>The work returned.</summary>
    Succeeded = 0,

    /// <summary>The work threw.</summary>
    Failed = 1,

    /// <summary>The work was cancelled through its token.</summary>
    Cancelled = 2,
}

/// <summary>The result of one job run.</summary>
public sealed class JobRunResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="outcome">How the run ended.</param>
    /// <param name="exception">What the work threw; null when it succeeded.</param>
    /// <param name="jobRunId">The run's ID.</param>
    public JobRunResult(JobOutcome outcome, Exception? exception, string jobRunId)
    {
        Outcome = outcome;
        Exception = exception;
        JobRunId = jobRunId;
    }

    /// <summary>How the run ended.</summary>
    public JobOutcome Outcome { get; }

    /// <summary>
    /// What the work threw, already logged; null when it succeeded. To end a worker loop with it, rethrow it with
    /// <c>ExceptionDispatchInfo.Throw(result.Exception)</c>, which keeps its stack trace.
    /// </summary>
    public Exception? Exception { get; }

    /// <summary>The run's ID, as in its log events (<c>JobRunId</c>).</summary>
    public string JobRunId { get; }
}

/// <summary>
/// The request (or job run) that enqueued a piece of work: its <c>RequestId</c> and W3C <c>traceparent</c>. Kept with the
/// work item; <see cref="ToString"/> and <see cref="Parse"/> carry it through a queue that holds strings.
/// </summary>
public sealed class JobOrigin
{
    /// <summary>An origin with nothing in it (outside a request).</summary>
    public static readonly JobOrigin None = new();

    /// <summary>The enqueuing request's <c>RequestId</c>.</summary>
    public string? RequestId { get; init; }

    /// <summary>The enqueuing request's W3C <c>traceparent</c> (<c>00-{trace}-{span}-{flags}</c>).</summary>
    public string? TraceParent { get; init; }

    /// <summary>Reads what <see cref="ToString"/> wrote; null or empty text gives <see cref="None"/>.</summary>
    /// <param name="text">The stored origin.</param>
    /// <returns>The origin.</returns>
    public static JobOrigin Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return None;
        }

        var bar = text.IndexOf('|', StringComparison.Ordinal);
        var requestId = bar < 0 ? text : text[..bar];
        var traceParent = bar < 0 ? null : text[(bar + 1)..];
        return new JobOrigin
        {
            RequestId = requestId.Length == 0 ? null : requestId,
            TraceParent = string.IsNullOrEmpty(traceParent) ? null : traceParent,
        };
    }

    /// <summary><c>{RequestId}|{TraceParent}</c>, either part empty when unknown.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => $"{RequestId}|{TraceParent}";
}
