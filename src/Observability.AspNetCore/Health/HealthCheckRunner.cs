using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Health;

/// <summary>
/// Sits between the endpoints (and the metrics publisher) and <see cref="HealthCheckService"/>: each check is run on its
/// own, its result reused for <c>CacheMs</c>, concurrent callers share one run, and no caller waits longer than the
/// check's timeout. Never throws: a check that throws, times out or hangs becomes a result.
/// </summary>
/// <remarks>
/// At most one run of a check is ever in flight. A run that ignores its cancellation (a driver that does not honour the
/// token while connecting, a check that blocks) is not abandoned for a fresh one on the next probe: the next runs wait
/// on that same task and report <c>timed out</c> until it returns, so a hanging dependency costs one task and one
/// connection attempt, not one per probe.
/// </remarks>
internal sealed class HealthCheckRunner
{
    /// <summary>The name of a worker's check is this prefix and the worker's name.</summary>
    public const string WorkerCheckPrefix = "worker:";

    private readonly HealthCheckService _service;
    private readonly IOptions<HealthCheckServiceOptions> _registrations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HealthCheckMetrics? _metrics;
    private readonly TimeSpan _cacheDuration;
    private readonly TimeSpan _defaultTimeout;
    private readonly Lock _slotsGate = new();
    private CheckSlot[]? _slots;
    private readonly WorkerRegistry? _workers;
    private readonly string[] _workerTags;

    public HealthCheckRunner(
        HealthCheckService service,
        IOptions<HealthCheckServiceOptions> registrations,
        IOptions<ObservabilityOptions> options,
        TimeProvider time,
        ILogger<HealthCheckRunner> logger,
        HealthCheckMetrics? metrics = null,
        WorkerRegistry? workers = null)
    {
        _workers = workers;
        _workerTags = options.Value.Jobs.WorkerChecks switch
        {
            WorkerCheckProbe.Live => [HealthOptions.LiveTag],
            WorkerCheckProbe.Ready => [HealthOptions.ReadyTag],
            _ => [],
        };
        _service = service;
        _registrations = registrations;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        var health = options.Value.Health;
        _cacheDuration = TimeSpan.FromMilliseconds(health.CacheMs);
        _defaultTimeout = TimeSpan.FromMilliseconds(health.TimeoutMs);
    }

    /// <summary>Runs (or reuses the cached result of) every check carrying <paramref name="tag"/>, or every check when null.</summary>
    public async Task<IReadOnlyList<HealthCheckSnapshot>> RunAsync(string? tag, CancellationToken cancellationToken)
    {
        var slots = Slots();
        List<Task<HealthCheckSnapshot>>? tasks = null;
        foreach (var slot in slots)
        {
            if (tag is null || slot.Registration.Tags.Contains(tag))
            {
                (tasks ??= []).Add(GetAsync(slot, cancellationToken));
            }
        }

        var results = tasks is null ? [] : await Task.WhenAll(tasks).ConfigureAwait(false);
        return AddWorkers(results, tag);
    }

    /// <summary>
    /// One check per worker (<c>worker:{name}</c>), read from the registry: no I/O, so neither cached nor timed out.
    /// Unhealthy when the worker stalled or faulted.
    /// </summary>
    private IReadOnlyList<HealthCheckSnapshot> AddWorkers(HealthCheckSnapshot[] results, string? tag)
    {
        if (_workers is null || (tag is not null && Array.IndexOf(_workerTags, tag) < 0))
        {
            return results;
        }

        var workers = _workers.Snapshot();
        if (workers.Count == 0)
        {
            return results;
        }

        var all = new List<HealthCheckSnapshot>(results.Length + workers.Count);
        all.AddRange(results);
        foreach (var worker in workers)
        {
            var problem = worker.Problem();
            var snapshot = new HealthCheckSnapshot(
                WorkerCheckPrefix + worker.Name,
                problem is null ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                worker.InProgress > 0 ? "running" : "idle",
                0,
                problem is null ? null : HealthMessageRedactor.Redact(problem),
                _workerTags);
            _metrics?.Record(snapshot);
            all.Add(snapshot);
        }

        return all;
    }

    /// <summary>The number of runs started so far for <paramref name="name"/> (tests check single-flight with it).</summary>
    internal int RunsStarted(string name) => Slots().Single(s => s.Name == name).RunsStarted;

    private CheckSlot[] Slots()
    {
        // Built on first use, when every registration (the library's and the app's) is in the options.
        if (Volatile.Read(ref _slots) is { } slots)
        {
            return slots;
        }

        lock (_slotsGate)
        {
            return _slots ??= [.. _registrations.Value.Registrations.Select(r => new CheckSlot(r, TimeoutOf(r)))];
        }
    }

    private TimeSpan TimeoutOf(HealthCheckRegistration registration) =>
        registration.Timeout > TimeSpan.Zero && registration.Timeout != Timeout.InfiniteTimeSpan ? registration.Timeout : _defaultTimeout;

    private Task<HealthCheckSnapshot> GetAsync(CheckSlot slot, CancellationToken cancellationToken)
    {
        TaskCompletionSource<HealthCheckSnapshot>? started = null;
        Task<HealthCheckSnapshot> run;
        lock (slot.Gate)
        {
            if (slot.Cached is { } cached && _time.GetElapsedTime(slot.CachedAt) < _cacheDuration)
            {
                return Task.FromResult(cached);
            }

            if (slot.Run is null)
            {
                // Created under the lock, started after it: a check's synchronous part must never run while other callers wait on the lock.
                started = new TaskCompletionSource<HealthCheckSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
                slot.Run = started.Task;
            }

            run = slot.Run;
        }

        if (started is not null)
        {
            _ = ExecuteAsync(slot, started);
        }

        // One caller going away (a probe's own timeout) must not cancel the run the others share.
        return cancellationToken.CanBeCanceled ? run.WaitAsync(cancellationToken) : run;
    }

    private async Task ExecuteAsync(CheckSlot slot, TaskCompletionSource<HealthCheckSnapshot> completion)
    {
        HealthCheckSnapshot result;
        try
        {
            result = await RunOnceAsync(slot).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // RunOnceAsync turns every failure into a result; this only guards against a bug there leaving callers waiting forever.
            result = new HealthCheckSnapshot(slot.Name, HealthStatus.Unhealthy, null, 0, HealthMessageRedactor.Redact(ex.Message), slot.Registration.Tags);
        }

        HealthCheckSnapshot? previous;
        lock (slot.Gate)
        {
            previous = slot.Cached;
            slot.Cached = result;
            slot.CachedAt = _time.GetTimestamp();
            slot.Run = null;
        }

        _metrics?.Record(result);
        LogTransition(previous, result);
        completion.SetResult(result);
    }

    private async Task<HealthCheckSnapshot> RunOnceAsync(CheckSlot slot)
    {
        var start = _time.GetTimestamp();
        Task<HealthReport> underlying;
        CancellationTokenSource? timeout = null;
        var logStillRunning = false;
        lock (slot.Gate)
        {
            if (slot.Underlying is { IsCompleted: false } stillRunning)
            {
                underlying = stillRunning;
                logStillRunning = !slot.StillRunningLogged;
                slot.StillRunningLogged = true;
            }
            else
            {
                timeout = new CancellationTokenSource(slot.Timeout, _time);
                var token = timeout.Token;
                var name = slot.Name;

                // Task.Run: a check that blocks synchronously holds one pool thread, never the caller's.
                underlying = Task.Run(() => _service.CheckHealthAsync(r => r.Name == name, token), CancellationToken.None);
                slot.Underlying = underlying;
                slot.StillRunningLogged = false;
                slot.RunsStarted++;
            }
        }

        if (logStillRunning)
        {
            _logger.HealthCheckStillRunning(slot.Name, (int)slot.Timeout.TotalMilliseconds);
        }

        if (timeout is not null)
        {
            _ = underlying.ContinueWith(static (_, state) => ((CancellationTokenSource)state!).Dispose(), timeout, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        try
        {
            var report = await underlying.WaitAsync(slot.Timeout, _time).ConfigureAwait(false);
            if (!report.Entries.TryGetValue(slot.Name, out var entry))
            {
                return new HealthCheckSnapshot(slot.Name, HealthStatus.Unhealthy, "The check did not report a result.", Elapsed(start), "no result", slot.Registration.Tags);
            }

            // HealthCheckService's own per-registration timeout: the same timeout, reported the same way.
            return entry.Exception is OperationCanceledException
                ? TimedOut(slot, Elapsed(start))
                : new HealthCheckSnapshot(
                    slot.Name,
                    entry.Status,
                    HealthMessageRedactor.Redact(entry.Description),
                    Math.Round(entry.Duration.TotalMilliseconds, 2),
                    entry.Exception is null ? null : HealthMessageRedactor.Redact(ErrorText(entry.Exception)),
                    slot.Registration.Tags);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return TimedOut(slot, Elapsed(start));
        }
        catch (Exception ex)
        {
            return new HealthCheckSnapshot(slot.Name, slot.Registration.FailureStatus, null, Elapsed(start), HealthMessageRedactor.Redact(ErrorText(ex)), slot.Registration.Tags);
        }
    }

    private double Elapsed(long start) => Math.Round(_time.GetElapsedTime(start).TotalMilliseconds, 2);

    private static HealthCheckSnapshot TimedOut(CheckSlot slot, double elapsedMs) => new(
        slot.Name,
        slot.Registration.FailureStatus,
        string.Create(CultureInfo.InvariantCulture, $"The check did not finish within {slot.Timeout.TotalMilliseconds} ms."),
        elapsedMs,
        HealthCheckSnapshot.TimedOut,
        slot.Registration.Tags);

    /// <summary>The message, plus the inner exception's when it adds something ("Failed to connect to host:port (Connection refused)").</summary>
    private static string ErrorText(Exception exception)
    {
        var inner = exception.InnerException?.Message;
        return string.IsNullOrEmpty(inner) || exception.Message.Contains(inner, StringComparison.Ordinal)
            ? exception.Message
            : $"{exception.Message} ({inner})";
    }

    private void LogTransition(HealthCheckSnapshot? previous, HealthCheckSnapshot current)
    {
        var was = previous?.Status ?? HealthStatus.Healthy;
        if (current.Status == was)
        {
            return;
        }

        if (current.Status == HealthStatus.Healthy)
        {
            _logger.HealthCheckRecovered(current.Name, current.Status.ToString(), was.ToString(), current.DurationMs);
        }
        else
        {
            _logger.HealthCheckFailed(current.Name, current.Status.ToString(), current.DurationMs, current.Error ?? current.Description ?? current.Status.ToString());
        }
    }

    private sealed class CheckSlot(HealthCheckRegistration registration, TimeSpan timeout)
    {
        public Lock Gate { get; } = new();

        public HealthCheckRegistration Registration { get; } = registration;

        public string Name => Registration.Name;

        public TimeSpan Timeout { get; } = timeout;

        public HealthCheckSnapshot? Cached { get; set; }

        public long CachedAt { get; set; }

        public Task<HealthCheckSnapshot>? Run { get; set; }

        public Task<HealthReport>? Underlying { get; set; }

        public int RunsStarted { get; set; }

        /// <summary>Whether the hang of the current <see cref="Underlying"/> has been logged (once per hang, not per probe).</summary>
        public bool StillRunningLogged { get; set; }
    }
}
