using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.Jobs;

/// <summary>
/// The <c>job_*</c> families, in the host's registry. Each job name's children are made once and cached; names beyond
/// the cap share the <c>other</c> series, so a name built from data cannot grow the series without bound.
/// </summary>
internal sealed class JobMetrics
{
    public const string OtherLabel = "other";

    private static readonly string[] OutcomeLabels = ["succeeded", "failed", "cancelled"];

    private readonly Counter _runs;
    private readonly Histogram _duration;
    private readonly Gauge _inProgress;
    private readonly Counter _slow;
    private readonly Gauge _queueDepth;
    private readonly ConcurrentDictionary<string, JobSeries> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Gauge.Child> _queues = new(StringComparer.Ordinal);
    private readonly Lock _create = new();
    private readonly int _maxNames;
    private readonly ILogger _logger;
    private bool _jobsCapped;

    /// <summary>Set once the cap is reached: names beyond it go here without a lock.</summary>
    private JobSeries? _other;
    private bool _queuesCapped;

    public JobMetrics(MetricFamilyFactory families, int maxNames, ILogger logger, WorkerRegistry workers)
    {
        _maxNames = maxNames;
        _logger = logger;
        string[] labels = ["job_name", "outcome"];
        _runs = families.CreateCounter(MetricFamilies.JobRuns, "Background job runs, by job name and outcome (succeeded, failed, cancelled).", labels);
        _duration = families.CreateHistogram(MetricFamilies.JobRunDuration, "Background job run duration in seconds, by job name and outcome.", labels,
            [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]);
        _inProgress = families.CreateGauge(MetricFamilies.JobRunsInProgress, "Background job runs executing now, by job name.", "job_name");
        _slow = families.CreateCounter(MetricFamilies.JobSlowRuns, "Background job runs slower than their slow-run threshold, by job name.", "job_name");
        _queueDepth = families.CreateGauge(MetricFamilies.JobQueueDepth, "Items waiting in a queue the app consumes, as it last reported them, by queue.", "queue");

        // Read from the registry before each scrape, so a beat costs no metric update.
        var lastBeat = families.CreateGauge(MetricFamilies.WorkerLastBeat, "Unix time of a registered worker's last beat, by worker.", "worker");
        families.Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var worker in workers.Snapshot())
            {
                if (worker.LastBeat is { } beat)
                {
                    lastBeat.WithLabels(worker.Name).Set(beat.ToUnixTimeMilliseconds() / 1000.0);
                }
            }
        });
    }

    /// <summary>The series of one job name: a dictionary read after the first run of it.</summary>
    public JobSeries For(string jobName) =>
        _jobs.TryGetValue(jobName, out var series) ? series : Volatile.Read(ref _other) ?? Create(jobName);

    public void ReportQueueDepth(string queue, long depth)
    {
        if (!_queues.TryGetValue(queue, out var child))
        {
            lock (_create)
            {
                if (!_queues.TryGetValue(queue, out child))
                {
                    if (_queues.Count >= _maxNames)
                    {
                        WarnOnce(ref _queuesCapped, "queue", queue);
                        return;
                    }

                    child = _queueDepth.WithLabels(queue);
                    _queues[queue] = child;
                }
            }
        }

        child.Set(depth);
    }

    private JobSeries Create(string jobName)
    {
        lock (_create)
        {
            if (_jobs.TryGetValue(jobName, out var series))
            {
                return series;
            }

            var label = jobName;
            if (_jobs.Count >= _maxNames)
            {
                WarnOnce(ref _jobsCapped, "job", jobName);
                label = OtherLabel;
                if (_jobs.TryGetValue(OtherLabel, out var other))
                {
                    Volatile.Write(ref _other, other);
                    return other;
                }
            }

            series = new JobSeries(
                _inProgress.WithLabels(label),
                _slow.WithLabels(label),
                [.. OutcomeLabels.Select(o => _runs.WithLabels(label, o))],
                [.. OutcomeLabels.Select(o => _duration.WithLabels(label, o))]);
            _jobs[label] = series;
            if (ReferenceEquals(label, OtherLabel))
            {
                Volatile.Write(ref _other, series);
            }

            return series;
        }
    }

    private void WarnOnce(ref bool warned, string kind, string name)
    {
        if (!warned)
        {
            warned = true;
            _logger.NamesCapped(_maxNames, kind, name);
        }
    }
}

/// <summary>The cached children of one job name; the outcome arrays are indexed by <see cref="JobOutcome"/>.</summary>
internal sealed class JobSeries(Gauge.Child inProgress, Counter.Child slow, Counter.Child[] runs, Histogram.Child[] duration)
{
    public Gauge.Child InProgress { get; } = inProgress;

    public Counter.Child Slow { get; } = slow;

    public void Record(JobOutcome outcome, double seconds)
    {
        runs[(int)outcome].Inc();
        duration[(int)outcome].Observe(seconds);
    }
}
