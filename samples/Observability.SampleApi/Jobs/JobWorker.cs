using Observability.AspNetCore;

namespace Observability.SampleApi.Jobs;

/// <summary>
/// The sample's background worker: takes one job at a time from the queue and runs it through <see cref="IJobRunner"/>,
/// on behalf of the request that enqueued it, so its events carry that request's ID and its outcome is counted.
/// </summary>
internal sealed partial class JobWorker(ISampleJobQueue queue, IJobRunner jobs, IConfiguration configuration, ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>The worker's name in its health check (<c>worker:sample-worker</c>) and metrics.</summary>
    public const string WorkerName = "sample-worker";

    /// <summary>How long the <c>slow</c> job takes: past its 500 ms slow-run threshold in appsettings.json.</summary>
    public const int SlowJobMilliseconds = 800;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A run that does not end (or beat) within this turns the worker's check Unhealthy: /health/live answers 503.
        var beatInterval = TimeSpan.FromMilliseconds(configuration.GetValue("Sample:WorkerBeatIntervalMs", 5000));
        using var worker = jobs.RegisterWorker(WorkerName, beatInterval);
        while (!stoppingToken.IsCancellationRequested)
        {
            await ReportDepthAsync(stoppingToken);
            SampleJob job;
            try
            {
                // Idle, not stalled, however long the queue stays empty.
                job = await worker.WaitForWorkAsync(queue.DequeueAsync, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await ReportDepthAsync(stoppingToken);

            // A failed run is logged (once) and counted by the runner; the loop goes on to the next job.
            await worker.RunAsync(job.Kind, job.Origin, ct => RunAsync(job.Kind, ct), stoppingToken);
        }
    }

    private async Task ReportDepthAsync(CancellationToken cancellationToken)
    {
        if (await queue.CountAsync(cancellationToken) is { } depth)
        {
            jobs.ReportQueueDepth(queue.Name, depth);
        }
    }

    private async Task RunAsync(string kind, CancellationToken cancellationToken)
    {
        LogStarting(logger, kind);
        switch (kind)
        {
            case "fast":
                await Task.Delay(10, cancellationToken);
                break;
            case "slow":
                await Task.Delay(SlowJobMilliseconds, cancellationToken);
                break;
            case "fail":
                throw new InvalidOperationException("The 'fail' job always fails: the report template is missing.");
            case "hang":
                // Stalls the worker (no beat) until shutdown, but still honours the stopping token so SIGTERM is not held up.
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Processing a {Kind} job")]
    private static partial void LogStarting(ILogger logger, string kind);
}
