using System.Diagnostics;

namespace Observability.AspNetCore.Core;

/// <summary>
/// At most N warnings a second for the whole app, so an incident cannot flood the log; what is held back is counted
/// for a once-a-second summary. Lock-free: a compare-exchange starts each new second.
/// </summary>
internal sealed class WarningBudget(int maxPerSecond)
{
    private long _windowSecond;
    private int _windowCount;
    private long _suppressed;

    public int MaxPerSecond { get; } = maxPerSecond;

    /// <summary>Takes one warning from this second's budget; false (and counted for the summary) when it is spent.</summary>
    public bool TryTake()
    {
        var second = Stopwatch.GetTimestamp() / Stopwatch.Frequency;
        var window = Volatile.Read(ref _windowSecond);
        if (second != window && Interlocked.CompareExchange(ref _windowSecond, second, window) == window)
        {
            Interlocked.Exchange(ref _windowCount, 0);
        }

        if (Interlocked.Increment(ref _windowCount) <= MaxPerSecond)
        {
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        return false;
    }

    /// <summary>How many warnings were held back since the last call, resetting the count.</summary>
    public long TakeSuppressed() => Interlocked.Exchange(ref _suppressed, 0);
}
