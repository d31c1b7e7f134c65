using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The liveness of the app's background workers: written by the jobs feature (beats, queue waits, runs, faults),
/// read by the health feature (one check per worker, <c>/health/detailed</c>'s <c>workers</c>), so neither reads the
/// other's internals. Nothing here does I/O: a probe reads a few fields per worker.
/// </summary>
internal sealed class WorkerRegistry
{
    private readonly ConcurrentDictionary<string, WorkerState> _workers = new(StringComparer.Ordinal);

    /// <summary>Set once the host begins to stop: a worker loop that returns after this ended normally.</summary>
    public bool HostStopping { get; set; }

    /// <summary>The worker named <paramref name="name"/>, created on first use (a loop restarted under the same name keeps its counts).</summary>
    public WorkerState GetOrAdd(string name) => _workers.GetOrAdd(name, static n => new WorkerState(n));

    /// <summary>Every worker, ordered by name.</summary>
    public IReadOnlyList<WorkerState> Snapshot()
    {
        var workers = _workers.Values.ToList();
        workers.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return workers;
    }
}

/// <summary>One worker's liveness. Updated with interlocked writes by its own loop, read by probes and scrapes.</summary>
internal sealed class WorkerState(string name)
{
    private long _lastBeat;
    private long _lastBeatUnixMs;
    private int _waiting;
    private int _loops;
    private int _inProgress;
    private long _succeeded;
    private long _failed;
    private Failure? _lastFailure;
    private string? _fault;
    private long _beatIntervalTicks;

    public string Name { get; } = name;

    /// <summary>No beat for longer than this, outside a queue wait, is a stall; null for a hosted service that never beats.</summary>
    public TimeSpan? BeatInterval { get; private set; }

    public int InProgress => Volatile.Read(ref _inProgress);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    public Failure? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Wall-clock time of the last beat, or null before the first.</summary>
    public DateTimeOffset? LastBeat => Interlocked.Read(ref _lastBeatUnixMs) is var ms and > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>A loop starts (or restarts) under this name: a fault of an earlier loop is over.</summary>
    public void LoopStarted(TimeSpan interval)
    {
        Interlocked.Increment(ref _loops);
        Volatile.Write(ref _fault, null);
        BeatInterval = interval;
        Volatile.Write(ref _beatIntervalTicks, interval.Ticks);
        Beat();
    }

    public void Beat()
    {
        Volatile.Write(ref _lastBeat, Stopwatch.GetTimestamp());
        Volatile.Write(ref _lastBeatUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>A loop of this name ended: a fault unless the host is stopping (the caller decides).</summary>
    public void LoopEnded() => Interlocked.Decrement(ref _loops);

    /// <summary>A loop waits on its queue: idle, however long (an empty or unreachable queue is not a stall).</summary>
    public void EnterWait() => Interlocked.Increment(ref _waiting);

    public void ExitWait()
    {
        // Beat first: a probe in between must not see the beat from before a long idle wait.
        Beat();
        Interlocked.Decrement(ref _waiting);
    }

    public void RunStarted()
    {
        Interlocked.Increment(ref _inProgress);
        Beat();
    }

    public void RunEnded(JobOutcome outcome, Exception? exception)
    {
        Interlocked.Decrement(ref _inProgress);
        if (outcome == JobOutcome.Failed)
        {
            Interlocked.Increment(ref _failed);
            Volatile.Write(ref _lastFailure, new Failure(exception?.GetType().Name ?? "Exception", DateTimeOffset.UtcNow));
        }
        else if (outcome == JobOutcome.Succeeded)
        {
            Interlocked.Increment(ref _succeeded);
        }

        Beat();
    }

    /// <summary>The worker is gone for good: its loop threw or returned while the host still runs.</summary>
    public void Fault(string reason) => Volatile.Write(ref _fault, reason);

    /// <summary>Unhealthy with a reason when faulted or stalled; null when healthy.</summary>
    public string? Problem()
    {
        if (Volatile.Read(ref _fault) is { } fault)
        {
            return fault;
        }

        // Idle while every loop of this name waits on its queue.
        var interval = Volatile.Read(ref _beatIntervalTicks);
        if (interval <= 0 || Volatile.Read(ref _waiting) >= Volatile.Read(ref _loops))
        {
            return null;
        }

        var since = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastBeat));
        if (since.Ticks <= interval)
        {
            return null;
        }

        var running = InProgress > 0 ? " while a run is in progress" : " outside its queue wait";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"stalled: no beat for {since.TotalSeconds:0.0} s{running} (beat interval {BeatInterval!.Value.TotalSeconds:0.###} s)");
    }

    /// <summary>The last failed run: the exception's type name and when.</summary>
    public sealed record Failure(string Type, DateTimeOffset At);
}
