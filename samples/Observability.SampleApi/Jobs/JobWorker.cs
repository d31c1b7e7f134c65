using Observability.AspNetCore;

namespace Observability.SampleApi.Jobs;

/// <summary>
/// The sample's background worker: takes one job at a time from the queue and runs it through <see cref="IJobRunner"/>,
/// on behalf of the request that enqueued it, so its events carry that request's ID and its outcome is counted.
/// </summary>
internal sealed partial class JobWorker(InMemoryJobQueue queue, IJobRunner jobs, ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>How long the <c>slow</c> job takes: past its 500 ms slow-run threshold in appsettings.json.</summary>
    public const int SlowJobMilliseconds = 800;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            jobs.ReportQueueDepth(queue.Name, queue.Count);
            SampleJob job;
            try
            {
                job = await queue.DequeueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            jobs.ReportQueueDepth(queue.Name, queue.Count);

            // A failed run is logged (once) and counted by the runner; the loop goes on to the next job.
            await jobs.RunAsync(job.Kind, job.Origin, ct => RunAsync(job.Kind, ct), stoppingToken);
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
                // Stalls the worker until shutdown, but still honours the stopping token so SIGTERM is not held up.
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Processing a {Kind} job")]
    private static partial void LogStarting(ILogger logger, string kind);
}
