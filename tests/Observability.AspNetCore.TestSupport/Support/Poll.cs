using System.Diagnostics;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>
/// Bounded waiting for something that happens on another thread or process (a timer tick, a line written after the
/// response, a server coming up): read, check, and fail the test with the last reading once the time is up.
/// </summary>
internal static class Poll
{
    /// <summary>How long a test waits for something that normally takes milliseconds, when it names no other bound.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Returns once <paramref name="condition"/> holds; fails the test when it has not within 10 s.</summary>
    public static Task UntilAsync(Func<bool> condition) =>
        UntilAsync(condition, held => held, _ => "The condition did not hold within 10 s.", intervalMs: 10);

    /// <summary>Returns once <paramref name="condition"/> holds; fails the test with <paramref name="failure"/> after <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure, int intervalMs = 20) =>
        UntilAsync(condition, held => held, _ => failure(), timeout, intervalMs);

    /// <summary>
    /// Reads until <paramref name="done"/> holds for the reading and returns it; fails the test with
    /// <paramref name="failure"/> of the last reading when that has not happened within <paramref name="timeout"/> (10 s).
    /// </summary>
    public static Task<T> UntilAsync<T>(Func<T> read, Func<T, bool> done, Func<T, string> failure, TimeSpan? timeout = null, int intervalMs = 20) =>
        UntilAsync(() => Task.FromResult(read()), done, failure, timeout, intervalMs);

    /// <inheritdoc cref="UntilAsync{T}(Func{T}, Func{T, bool}, Func{T, string}, TimeSpan?, int)"/>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, string> failure, TimeSpan? timeout = null, int intervalMs = 20)
    {
        var (last, _) = await LoopAsync(read, done, failure, timeout ?? DefaultTimeout, each: null, intervalMs);
        return last;
    }

    /// <summary>
    /// Calls <paramref name="probe"/> until <paramref name="done"/>, bounded; every probe is passed to <paramref name="each"/>
    /// first. Returns the last probe and how long it took to get there.
    /// </summary>
    public static Task<(T Last, TimeSpan Elapsed)> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Action<T>? each = null, int intervalMs = 100) =>
        LoopAsync(probe, done, last => $"Not done within {timeout.TotalSeconds} s; last: {last}", timeout, each, intervalMs);

    private static async Task<(T Last, TimeSpan Elapsed)> LoopAsync<T>(
        Func<Task<T>> read, Func<T, bool> done, Func<T, string> failure, TimeSpan timeout, Action<T>? each, int intervalMs)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var last = await read();
            each?.Invoke(last);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (done(last))
            {
                return (last, elapsed);
            }

            // The message is built only on failure: it often holds a whole log or scrape.
            if (elapsed >= timeout)
            {
                Assert.Fail(failure(last));
            }

            await Task.Delay(intervalMs);
        }
    }
}
