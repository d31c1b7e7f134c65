using System.Diagnostics;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Tests.Logging;

public sealed class WallClockTests
{
    [Fact]
    public async Task Time_of_a_timestamp_agrees_with_the_wall_clock_across_anchor_refreshes()
    {
        // Samples 10 ms apart over ~250 ms: several 50 ms anchors, each sample between two wall-clock reads. The only
        // allowed difference is a wall-clock step since the anchor, which this machine does not make during a test.
        var tolerance = TimeSpan.FromMilliseconds(2);
        for (var i = 0; i < 25; i++)
        {
            var before = DateTime.UtcNow;
            var derived = WallClock.UtcAt(Stopwatch.GetTimestamp());
            var after = DateTime.UtcNow;

            Assert.Equal(DateTimeKind.Utc, derived.Kind);
            Assert.InRange(derived, before - tolerance, after + tolerance);
            await Task.Delay(10);
        }
    }

    [Fact]
    public void Earlier_timestamp_maps_to_an_earlier_time_by_the_same_interval()
    {
        var now = Stopwatch.GetTimestamp();
        var earlier = now - Stopwatch.Frequency; // one second before

        var difference = WallClock.UtcAt(now) - WallClock.UtcAt(earlier);

        Assert.InRange(difference.TotalMilliseconds, 999.9, 1000.1);
    }
}
