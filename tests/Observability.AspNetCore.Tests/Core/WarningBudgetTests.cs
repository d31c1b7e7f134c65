using System.Collections.Concurrent;
using System.Diagnostics;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Tests.Core;

public sealed class WarningBudgetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(20)]
    public void Threads_racing_for_warnings_never_get_more_than_the_limit_in_any_one_second(int limit)
    {
        var budget = new WarningBudget(limit);
        var granted = new ConcurrentBag<long>();
        var refused = 0L;
        var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3 / 2;

        // Bounded: each thread stops after 1.5 s or 2 million attempts.
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (var i = 0; i < 2_000_000 && Stopwatch.GetTimestamp() < until; i++)
            {
                if (budget.TryTake())
                {
                    granted.Add(Stopwatch.GetTimestamp());
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });

        var times = granted.Order().ToArray();
        Assert.True(times.Length >= limit, $"only {times.Length} of {limit} granted");
        for (var i = limit; i < times.Length; i++)
        {
            // The grant limit places before this one was taken at least a second earlier (timestamps are taken after
            // TryTake returns, so allow the scheduling slack of a busy machine).
            var apart = (double)(times[i] - times[i - limit]) / Stopwatch.Frequency;
            Assert.True(apart > 0.75, $"grants {i - limit} and {i} were {apart:F3} s apart with a limit of {limit} a second");
        }

        Assert.Equal(Interlocked.Read(ref refused), budget.TakeSuppressed());
    }
}
