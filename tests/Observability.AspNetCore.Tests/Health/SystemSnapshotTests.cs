using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.Health;

namespace Observability.AspNetCore.Tests.Health;

[Collection(HealthTimingCollection.Name)]
public sealed class SystemSnapshotTests
{
    [Fact]
    public async Task Cpu_percent_rises_above_zero_while_the_app_burns_cpu()
    {
        await using var app = await HealthTestApp.StartAsync(map: a => a.MapGet("/burn", (int ms) =>
        {
            // One thread spinning: half of a two-core machine, far above an idle host, without starving the other tests.
            var until = Stopwatch.GetTimestamp() + (ms * Stopwatch.Frequency / 1000);
            var x = 0UL;
            while (Stopwatch.GetTimestamp() < until)
            {
                x = unchecked((x * 6364136223846793005UL) + 1442695040888963407UL);
            }

            return Results.Ok(x);
        }));

        await app.Client.GetAsync(new Uri("/burn?ms=2100", UriKind.Relative));
        var detailed = await app.GetAsync("/health/detailed");

        // The sampler ticks every second, so the last full interval lies inside the burn.
        var cpu = detailed.Body.GetProperty("system").GetProperty("cpuPercent").GetDouble();
        Assert.True(cpu > 0, $"cpuPercent was {cpu}");
        Assert.InRange(cpu, 0, 100);
    }
}
