using Microsoft.AspNetCore.Builder;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Metrics;

/// <summary>Runs alone: it measures the process's managed heap, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(CardinalityTests), DisableParallelization = true)]
public sealed class CardinalityCollection;

[Collection(nameof(CardinalityTests))]
public sealed class CardinalityTests
{
    [Fact]
    public async Task Distinct_urls_and_random_paths_add_a_handful_of_series_and_no_memory()
    {
        // Completion events are off here: the test harness keeps every log line in memory, which is not what is measured.
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/api/items/{id:int}", (int id) => new { id }),
            new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Warning" });
        var random = new Random(1234);

        // Warm up every code path once, so what is measured afterwards is growth, not first-use allocation.
        for (var i = 0; i < 500; i++)
        {
            await app.Client.GetAsync($"/api/items/{i}");
            await app.Client.GetAsync($"/warmup/{random.Next()}");
        }

        var seriesBefore = Exposition.Parse(await app.Client.GetStringAsync("/metrics")).Count;
        var heapBefore = Heap();

        for (var i = 0; i < 20_000; i++)
        {
            using var r = await app.Client.GetAsync($"/api/items/{i + 1_000_000}");
        }

        for (var i = 0; i < 5_000; i++)
        {
            using var r = await app.Client.GetAsync($"/{Guid.NewGuid():N}/{random.Next()}?q={random.Next()}");
        }

        var heapAfter = Heap();
        var text = await app.Client.GetStringAsync("/metrics");
        var seriesAfter = Exposition.Parse(text).Count;

        Assert.True(seriesAfter - seriesBefore <= 5, $"series grew from {seriesBefore} to {seriesAfter}");
        Assert.Equal(20_500, Exposition.Parse(text).Value("http_requests_total", ("endpoint", "/api/items/{id:int}")));
        Assert.Equal(5_500, Exposition.Parse(text).Value("http_requests_total", ("endpoint", "unmatched")));
        Assert.True(heapAfter - heapBefore < 10 * 1024 * 1024, $"managed heap grew by {(heapAfter - heapBefore) / 1024} KiB");
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
