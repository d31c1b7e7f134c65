using System.Diagnostics;

namespace Observability.AspNetCore.Core;

/// <summary>
/// At most N warnings in any one second for the whole app, so an incident cannot flood the log; what is held back is
/// counted for a once-a-second summary. A sliding window, not calendar seconds: those let N warnings at the end of one
/// second and N more at the start of the next through within milliseconds.
/// <para>
/// Lock-free: a ring of the last N grants' times, one slot per grant in turn; a grant is allowed when the one N grants
/// earlier is at least a second old, and is claimed with a compare-exchange on its slot. Each slot packs the grant's time
/// (43 usable bits of 100 µs: 27 years of uptime) with its generation (which turn of the ring it belongs to), so a thread that finds its
/// slot claimed but the count not yet advanced can tell that apart from a spent budget.
/// </para>
/// </summary>
internal sealed class WarningBudget
{
    // Limits above this behave as this: 8 bytes a slot, and no log wants more warnings a second.
    internal const int MaxRingSize = 65_536;

    private const int GenerationBits = 20;
    private const long GenerationMask = (1L << GenerationBits) - 1;
    private const long UnitsPerSecond = 10_000;

    private static readonly double UnitsPerTick = (double)UnitsPerSecond / Stopwatch.Frequency;

    private readonly long[] _slots;
    private readonly long _origin = Stopwatch.GetTimestamp();
    private long _granted;
    private long _suppressed;

    public WarningBudget(int maxPerSecond)
    {
        MaxPerSecond = maxPerSecond;
        _slots = new long[Math.Clamp(maxPerSecond, 1, MaxRingSize)];

        // Turn 0 finds every slot in generation -1 at time 0, which Now() keeps a second in the past.
        Array.Fill(_slots, GenerationMask);
    }

    public int MaxPerSecond { get; }

    /// <summary>Takes one warning from the last second's budget; false (and counted for the summary) when it is spent.</summary>
    public bool TryTake()
    {
        var ring = _slots.Length;
        while (true)
        {
            var seq = Volatile.Read(ref _granted);
            var index = (int)(seq % ring);
            var generation = (seq / ring) & GenerationMask;
            var current = Volatile.Read(ref _slots[index]);
            var found = current & GenerationMask;
            if (found == generation)
            {
                // Another thread claimed grant seq and has not advanced the count yet: advance it for them, look again.
                Interlocked.CompareExchange(ref _granted, seq + 1, seq);
                continue;
            }

            if (found != ((generation - 1) & GenerationMask))
            {
                continue; // seq was read before other grants went through: read it again.
            }

            var now = Now();
            if (now - (current >> GenerationBits) < UnitsPerSecond)
            {
                // Grant seq - N was less than a second ago, and N grants followed it: the budget is spent.
                Interlocked.Increment(ref _suppressed);
                return false;
            }

            if (Interlocked.CompareExchange(ref _slots[index], (now << GenerationBits) | generation, current) == current)
            {
                Interlocked.CompareExchange(ref _granted, seq + 1, seq);
                return true;
            }
        }
    }

    /// <summary>How many warnings were held back since the last call, resetting the count.</summary>
    public long TakeSuppressed() => Interlocked.Exchange(ref _suppressed, 0);

    // 100 µs units since construction, plus one second so the initial slots (time 0) are already a second old.
    private long Now() => (long)((Stopwatch.GetTimestamp() - _origin) * UnitsPerTick) + UnitsPerSecond;
}
