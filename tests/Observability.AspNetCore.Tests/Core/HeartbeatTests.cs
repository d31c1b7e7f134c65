using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Core;

/// <summary>The dedicated thread behind the once-a-second passes (hung requests, warning summaries, the CPU sample).</summary>
public sealed class HeartbeatTests
{
    [Fact]
    public async Task A_pass_that_throws_stops_neither_the_other_passes_nor_its_own_next_second()
    {
        using var heartbeat = new Heartbeat();
        var throws = 0;
        var counts = 0;
        using var failing = heartbeat.Register("failing", () =>
        {
            Interlocked.Increment(ref throws);
            throw new InvalidOperationException("boom");
        });
        using var counting = heartbeat.Register("counting", () => Interlocked.Increment(ref counts));

        await Poll.UntilAsync(() => Volatile.Read(ref throws) >= 2 && Volatile.Read(ref counts) >= 2);
    }

    [Fact]
    public async Task Once_a_registration_is_disposed_its_pass_is_neither_running_nor_run_again()
    {
        using var heartbeat = new Heartbeat();
        var runs = 0;
        var inside = 0;
        var registration = heartbeat.Register("slow", () =>
        {
            Volatile.Write(ref inside, 1);
            Interlocked.Increment(ref runs);
            Thread.Sleep(300);
            Volatile.Write(ref inside, 0);
        });

        // Dispose while the pass is running: it waits for the pass to end, as a monitor's StopAsync relies on.
        await Poll.UntilAsync(() => Volatile.Read(ref inside) == 1);
        registration.Dispose();
        Assert.Equal(0, Volatile.Read(ref inside));
        var runsAtDispose = Volatile.Read(ref runs);

        await Task.Delay(Heartbeat.Interval * 2.5);
        Assert.Equal(runsAtDispose, Volatile.Read(ref runs));
    }

    [Fact]
    public void Registering_after_dispose_is_refused()
    {
        var heartbeat = new Heartbeat();
        heartbeat.Register("once", static () => { }).Dispose();
        heartbeat.Dispose();

        Assert.Throws<ObjectDisposedException>(() => heartbeat.Register("late", static () => { }));
    }
}
