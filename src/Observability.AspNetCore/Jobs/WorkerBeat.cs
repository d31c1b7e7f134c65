using Observability.AspNetCore.Core;

namespace Observability.AspNetCore;

/// <summary>
/// A worker loop's heartbeat, from <see cref="IJobRunner.RegisterWorker"/>: its health check is Unhealthy when the loop,
/// outside its queue wait, has not beaten for longer than its interval (stalled), or when it ended while the app still
/// runs (faulted). Waiting on an empty or unreachable queue is idle, never stalled. Dispose it when the loop ends.
/// </summary>
/// <example>
/// <code>
/// using var worker = jobs.RegisterWorker("email-worker", TimeSpan.FromSeconds(30));
/// while (!stoppingToken.IsCancellationRequested)
/// {
///     var item = await worker.WaitForWorkAsync(ct => channel.Reader.ReadAsync(ct), stoppingToken);
///     await worker.RunAsync("send-email", item.Origin, ct => SendAsync(item, ct), stoppingToken);
/// }
/// </code>
/// </example>
public interface IWorkerBeat : IDisposable
{
    /// <summary>The worker's name, as in its health check (<c>worker:{name}</c>) and <c>worker_last_beat_timestamp_seconds</c>.</summary>
    string Name { get; }

    /// <summary>Says the loop is alive. Waiting for work and starting or ending a run beat by themselves; call it from a long run.</summary>
    void Beat();

    /// <summary>
    /// Waits for the next piece of work; the worker is idle, not stalled, however long this takes (put a poll loop's
    /// retry delays inside <paramref name="wait"/>, so a dead queue keeps the worker idle).
    /// </summary>
    /// <typeparam name="T">The work item.</typeparam>
    /// <param name="wait">Takes the next item from the queue.</param>
    /// <param name="cancellationToken">Flows to <paramref name="wait"/>.</param>
    /// <returns>The item.</returns>
    ValueTask<T> WaitForWorkAsync<T>(Func<CancellationToken, ValueTask<T>> wait, CancellationToken cancellationToken);

    /// <summary>Runs one job as <see cref="IJobRunner.RunAsync(string, JobOrigin?, Func{CancellationToken, Task}, CancellationToken)"/> does, counted for this worker.</summary>
    /// <param name="jobName">The job's name.</param>
    /// <param name="origin">Where the work was enqueued; null when unknown.</param>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Flows to the work.</param>
    /// <returns>How the run ended.</returns>
    Task<JobRunResult> RunAsync(string jobName, JobOrigin? origin, Func<CancellationToken, Task> work, CancellationToken cancellationToken);
}

/// <summary>The heartbeat of one loop registered under a worker name; see <see cref="IWorkerBeat"/>.</summary>
internal sealed class WorkerBeat : IWorkerBeat
{
    private readonly WorkerState _state;
    private readonly WorkerRegistry _registry;
    private readonly IJobRunner _jobs;
    private int _disposed;

    internal WorkerBeat(WorkerState state, WorkerRegistry registry, IJobRunner jobs)
    {
        _state = state;
        _registry = registry;
        _jobs = jobs;
    }

    public string Name => _state.Name;

    public void Beat() => _state.Beat();

    public async ValueTask<T> WaitForWorkAsync<T>(Func<CancellationToken, ValueTask<T>> wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wait);
        _state.EnterWait();
        try
        {
            return await wait(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _state.ExitWait();
        }
    }

    public async Task<JobRunResult> RunAsync(string jobName, JobOrigin? origin, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        _state.RunStarted();
        JobRunResult? result = null;
        try
        {
            result = await _jobs.RunAsync(jobName, origin, work, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _state.RunEnded(result?.Outcome ?? JobOutcome.Failed, result?.Exception);
        }
    }

    /// <summary>The loop has ended: fine while the app stops; a fault while it still runs (the loop returned or threw).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _state.LoopEnded();
        if (!_registry.HostStopping)
        {
            _state.Fault("faulted: the worker loop ended while the app still runs");
        }
    }
}
