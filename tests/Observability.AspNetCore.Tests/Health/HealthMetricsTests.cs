using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

public sealed class HealthMetricsTests
{
    private static async Task<IReadOnlyList<Sample>> ScrapeUntilAsync(TestApp app, Func<IReadOnlyList<Sample>, bool> condition)
    {
        var (samples, _) = await Poll.UntilAsync(
            async () =>
            {
                var text = await app.Client.GetStringAsync("/metrics");
                return (Samples: Exposition.Parse(text), Text: text);
            },
            scrape => condition(scrape.Samples),
            scrape => $"Condition not met. Last scrape:\n{scrape.Text}",
            intervalMs: 50);
        return samples;
    }

    [Fact]
    public async Task The_background_publisher_exports_every_checks_status_and_duration_without_any_probe()
    {
        var healthy = new ControlledCheck();
        var degraded = new ControlledCheck { Status = HealthStatus.Degraded };
        var unhealthy = new ControlledCheck { Status = HealthStatus.Unhealthy, Delay = TimeSpan.FromMilliseconds(30) };
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("api", healthy, tags: ["ready"]).AddCheck("replica", degraded).AddCheck("postgres", unhealthy, tags: ["ready"]),
            new Dictionary<string, string?> { ["Observability:Health:PublishIntervalMs"] = "100" });

        var samples = await ScrapeUntilAsync(app, s => s.Any(x => x.Name == "health_check_status" && x.Labels["check"] == "postgres"));

        Assert.Equal(1, samples.Value("health_check_status", ("check", "api")));
        Assert.Equal(0.5, samples.Value("health_check_status", ("check", "replica")));
        Assert.Equal(0, samples.Value("health_check_status", ("check", "postgres")));
        Assert.InRange(samples.Value("health_check_duration_seconds", ("check", "postgres")), 0.02, 5);
        Assert.DoesNotContain(app.Events(), e => (e.Str("RequestPath") ?? "").StartsWith("/health", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_gauge_follows_a_check_that_fails_and_recovers()
    {
        var check = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("redis", check, tags: ["ready"]),
            new Dictionary<string, string?> { ["Observability:Health:PublishIntervalMs"] = "100", ["Observability:Health:CacheMs"] = "0" });

        await ScrapeUntilAsync(app, s => s.Value("health_check_status", ("check", "redis")) == 1);
        check.Status = HealthStatus.Unhealthy;
        await ScrapeUntilAsync(app, s => s.Any(x => x.Name == "health_check_status") && s.Value("health_check_status", ("check", "redis")) == 0);
        check.Status = HealthStatus.Healthy;
        await ScrapeUntilAsync(app, s => s.Value("health_check_status", ("check", "redis")) == 1);
    }

    [Fact]
    public async Task Health_metrics_carry_the_configured_prefix()
    {
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("api", new ControlledCheck()),
            new Dictionary<string, string?> { ["Observability:Health:PublishIntervalMs"] = "100", ["Observability:Metrics:Prefix"] = "shop" });

        var samples = await ScrapeUntilAsync(app, s => s.Any(x => x.Name == "shop_health_check_status"));

        Assert.Equal(1, samples.Value("shop_health_check_status", ("check", "api")));
        Assert.Contains(samples, s => s.Name == "shop_health_check_duration_seconds");
        Assert.DoesNotContain(samples, s => s.Name == "health_check_status");
    }

    [Fact]
    public async Task A_probe_result_updates_the_gauge_too()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", new ControlledCheck { Status = HealthStatus.Unhealthy }, tags: ["ready"]));

        await app.GetAsync("/health/ready");
        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));

        Assert.Contains(samples, s => s.Name == "health_check_status" && s.Labels["check"] == "postgres" && s.Value == 0);
    }
}
