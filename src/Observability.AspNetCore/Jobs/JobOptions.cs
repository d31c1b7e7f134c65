namespace Observability.AspNetCore;

/// <summary>Background jobs and workers (<c>Observability:Jobs</c>): what <see cref="IJobRunner"/> does with a run.</summary>
public sealed class JobOptions
{
    /// <summary>The default of <see cref="MaxJobNames"/>: 100.</summary>
    public const int DefaultMaxJobNames = 100;

    /// <summary>
    /// A run slower than this writes one Warning event and counts in <c>job_slow_runs_total</c>
    /// (<c>Observability:Jobs:SlowThresholdMs</c>, default 0: off, because what is slow depends on the job; set it per job
    /// in <see cref="Jobs"/>). Negative is a startup error.
    /// </summary>
    public int SlowThresholdMs { get; set; }

    /// <summary>
    /// Per-job settings (<c>Observability:Jobs:Jobs</c>, a list of <c>{ "Name": "send-email", "SlowThresholdMs": 5000 }</c>):
    /// a job's entry wins over <see cref="SlowThresholdMs"/>.
    /// </summary>
    public IList<JobNameOptions>? Jobs { get; set; }

    /// <summary>
    /// The most distinct job names in the metrics (<c>Observability:Jobs:MaxJobNames</c>, default 100): further names are
    /// counted under <c>other</c>, and a Warning says so once, so a job name built from data cannot grow series without bound.
    /// </summary>
    public int MaxJobNames { get; set; } = DefaultMaxJobNames;

    /// <summary>
    /// The probe the worker checks (<see cref="IJobRunner.RegisterWorker"/>, and hosted services whose <c>ExecuteAsync</c>
    /// failed) count for (<c>Observability:Jobs:WorkerChecks</c>: <c>Live</c>, the default, <c>Ready</c> or <c>None</c>).
    /// </summary>
    public WorkerCheckProbe WorkerChecks { get; set; } = WorkerCheckProbe.Live;
}

/// <summary>One entry of <c>Observability:Jobs:Jobs</c>.</summary>
public sealed class JobNameOptions
{
    /// <summary>The job name, as passed to <see cref="IJobRunner.RunAsync(string, Func{CancellationToken, Task}, CancellationToken)"/>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The slow-run threshold of that job in milliseconds; 0 turns the check off for it.</summary>
    public int SlowThresholdMs { get; set; }
}
