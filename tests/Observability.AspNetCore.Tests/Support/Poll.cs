namespace Observability.AspNetCore.Tests.Support;

/// <summary>Bounded waiting for something that happens on another thread (a timer tick, a line written after the response).</summary>
internal static class Poll
{
    /// <summary>Returns once <paramref name="condition"/> holds; fails the test when it has not within 10 s.</summary>
    public static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(10);
        }
    }
}
