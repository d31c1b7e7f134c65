using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Jobs;

/// <summary>
/// Runs a unit of background work inside a <see cref="JobScope"/> (so every event carries the run's identity), times
/// it, writes its completion event and records its metrics. No lock per run: the job name's metric children are cached
/// and the thresholds are a dictionary read.
/// </summary>
internal sealed class JobRunner : IJobRunner
{
    public const string LoggerCategory = "Observability.AspNetCore.Jobs";

    private static readonly string[] OutcomeNames = ["Succeeded", "Failed", "Cancelled"];

    private readonly ILogger _logger;
    private readonly JobMetrics? _metrics;
    private readonly WarningBudget _budget;
    private readonly IHttpContextAccessor _accessor;
    private readonly string _requestIdHeader;
    private readonly int _defaultThresholdMs;
    private readonly Dictionary<string, int> _thresholds = new(StringComparer.Ordinal);

    private readonly WorkerRegistry _workers;

    public JobRunner(IOptions<ObservabilityOptions> options, ILoggerFactory loggerFactory, WarningBudget budget, IHttpContextAccessor accessor, WorkerRegistry workers, IServiceProvider services)
    {
        _workers = workers;
        var o = options.Value;
        _logger = loggerFactory.CreateLogger(LoggerCategory);
        _metrics = services.GetRequiredService<MetricsRegistry>() is { Enabled: true } registry ? new JobMetrics(registry.Families, o.Jobs.MaxJobNames, _logger, workers) : null;
        _budget = budget;
        _accessor = accessor;
        _requestIdHeader = o.RequestId.Header;
        _defaultThresholdMs = o.Jobs.SlowThresholdMs;
        foreach (var job in o.Jobs.Jobs ?? [])
        {
            _thresholds[job.Name] = job.SlowThresholdMs;
        }
    }

    public Task<JobRunResult> RunAsync(string jobName, Func<CancellationToken, Task> work, CancellationToken cancellationToken) =>
        RunAsync(jobName, null, work, cancellationToken);

    public async Task<JobRunResult> RunAsync(string jobName, JobOrigin? origin, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobName);
        ArgumentNullException.ThrowIfNull(work);

        // Set inside this async method, so the caller's execution context is back to its own when it returns.
        var run = Start(jobName, origin);
        Exception? failure = null;
        try
        {
            await work(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        return Complete(run, failure, cancellationToken);
    }

    public JobRunResult Run(string jobName, JobOrigin? origin, Action<CancellationToken> work, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobName);
        ArgumentNullException.ThrowIfNull(work);

        var previous = JobScope.Current;
        var previousActivity = Activity.Current;
        var run = Start(jobName, origin);
        try
        {
            Exception? failure = null;
            try
            {
                work(cancellationToken);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            return Complete(run, failure, cancellationToken);
        }
        finally
        {
            JobScope.Current = previous;
            Activity.Current = previousActivity;
        }
    }

    public JobOrigin CaptureOrigin()
    {
        string? requestId = null;
        if (_accessor.HttpContext is { } context)
        {
            requestId = RequestScope.GetOrCreate(context, _requestIdHeader).RequestId;
        }
        else if (JobScope.Current is { } job)
        {
            requestId = job.OriginRequestId;
        }

        var traceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
        return requestId is null && traceParent is null ? JobOrigin.None : new JobOrigin { RequestId = requestId, TraceParent = traceParent };
    }

    public void ReportQueueDepth(string queue, long depth)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        _metrics?.ReportQueueDepth(queue, depth);
    }

    public IWorkerBeat RegisterWorker(string name, TimeSpan beatInterval)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(beatInterval, TimeSpan.Zero);
        var state = _workers.GetOrAdd(name);
        state.LoopStarted(beatInterval);
        return new WorkerBeat(state, _workers, this);
    }

    private RunState Start(string jobName, JobOrigin? origin)
    {
        // A request ID read from a queue is input like a header: kept only when it is one we could have written.
        var requestId = origin?.RequestId is { } id && RequestIdValidator.IsValid(id, out var valid) ? valid : null;
        var trace = origin?.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var context) ? context : default;
        var scope = new JobScope(jobName, RequestIdGenerator.Next(), requestId, trace);
        JobScope.Current = scope;
        var activity = JobSpans.Start(jobName, scope.JobRunId, requestId, trace);
        var series = _metrics?.For(jobName);
        series?.InProgress.Inc();
        return new RunState(scope, series, activity, Stopwatch.GetTimestamp());
    }

    private JobRunResult Complete(RunState run, Exception? failure, CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.GetElapsedTime(run.Started);
        var outcome = failure switch
        {
            null => JobOutcome.Succeeded,
            OperationCanceledException when cancellationToken.IsCancellationRequested => JobOutcome.Cancelled,
            _ => JobOutcome.Failed,
        };

        var scope = run.Scope;
        var elapsedMs = Math.Round(elapsed.TotalMilliseconds, 3);
        var outcomeName = OutcomeNames[(int)outcome];
        if (outcome == JobOutcome.Failed)
        {
            _logger.JobRunCompleted(LogLevel.Error, failure, scope.JobName, scope.JobRunId, outcomeName, elapsedMs);
        }
        else
        {
            _logger.JobRunCompleted(LogLevel.Information, null, scope.JobName, scope.JobRunId, outcomeName, elapsedMs);
        }

        var thresholdMs = _thresholds.TryGetValue(scope.JobName, out var own) ? own : _defaultThresholdMs;
        var slow = thresholdMs > 0 && elapsed.TotalMilliseconds > thresholdMs;
        if (run.Series is { } series)
        {
            series.InProgress.Dec();
            series.Record(outcome, elapsed.TotalSeconds);
            if (slow)
            {
                series.Slow.Inc();
            }
        }

        if (slow && _budget.TryTake())
        {
            _logger.SlowJobRun(scope.JobName, scope.JobRunId, outcomeName, elapsedMs, thresholdMs);
        }

        JobSpans.Stop(run.Activity, outcome, failure);
        return new JobRunResult(outcome, failure, scope.JobRunId);
    }

    private readonly record struct RunState(JobScope Scope, JobSeries? Series, Activity? Activity, long Started);
}
