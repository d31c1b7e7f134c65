using System.Net;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>A real PostgreSQL or Redis stops and comes back under a running app. Each test owns its servers.</summary>
[Collection(HealthFaultsCollection.Name)]
public sealed class DependencyOutageTests
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task Stopped_dependency_turns_ready_503_within_CacheMs_plus_1s_with_fast_calls_and_ready_returns_when_it_restarts(string stopped)
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:Redis:ConnectionString"] = redis.ConnectionString,
        });
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));

        var isPostgres = stopped == "postgres";
        await (isPostgres ? postgres.StopAsync() : redis.StopAsync());
        await AssertOutageAsync(host, stopped, other: isPostgres ? "redis" : "postgres");

        await (isPostgres ? postgres.StartAgainAsync() : redis.StartAgainAsync());
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// The check runs on AspNetCore.HealthChecks.NpgSql, whose failure description is the driver's message; the
    /// descriptions users see are the library's, the same whatever the driver said, and the error keeps the driver's reason.
    /// </summary>
    [Fact]
    public async Task Postgres_check_describes_itself_in_the_librarys_words_up_and_down_and_keeps_the_drivers_reason_as_error()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:CacheMs"] = "0",
        });

        var (up, _) = await Poll.UntilAsync(() => host.GetAsync("/health/detailed"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.Equal("PostgreSQL answered SELECT 1.", up.CheckDescription("postgres"));
        Assert.Null(up.CheckError("postgres"));

        await postgres.StopAsync();

        var (down, _) = await Poll.UntilAsync(() => host.GetAsync("/health/detailed"), p => p.Status == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(5));
        Assert.Equal("PostgreSQL did not answer SELECT 1.", down.CheckDescription("postgres"));
        Assert.False(string.IsNullOrEmpty(down.CheckError("postgres")), down.ToString());
        Assert.NotEqual(down.CheckDescription("postgres"), down.CheckError("postgres"));
    }

    [Fact]
    public async Task A_stopped_dependency_shows_as_0_in_health_check_status_without_anyone_calling_the_endpoints()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:PublishIntervalMs"] = "200",
        });
        await Poll.UntilAsync(() => host.GetAsync("/metrics"), p => PostgresStatusIs(p.Text, 1), TimeSpan.FromSeconds(10));

        await postgres.StopAsync();

        var (down, _) = await Poll.UntilAsync(() => host.GetAsync("/metrics"), p => PostgresStatusIs(p.Text, 0), TimeSpan.FromSeconds(10));
        Assert.True(Exposition.Parse(down.Text).Single("health_check_duration_seconds", ("check", "postgres")) >= 0);
    }

    private static bool PostgresStatusIs(string exposition, double status)
    {
        var samples = Exposition.Parse(exposition);
        return samples.Has("health_check_status", ("check", "postgres")) && samples.Single("health_check_status", ("check", "postgres")) == status;
    }

    /// <summary>
    /// Right after the dependency went down: ready turns 503 naming it within CacheMs (1000, the default) + 1 s, every
    /// call answers within 1 s, live and /health stay 200, and detailed says why.
    /// </summary>
    private static async Task AssertOutageAsync(HealthHost host, string failed, string other)
    {
        var (down, elapsed) = await Poll.UntilAsync(
            () => host.GetAsync("/health/ready"),
            p => p.Status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(5),
            each: p => Assert.True(p.Elapsed < CallBound, $"a call took too long: {p}"),
            intervalMs: 50);
        Assert.True(elapsed <= TimeSpan.FromMilliseconds(1000 + 1000), $"ready turned 503 only after {elapsed.TotalMilliseconds} ms");
        Assert.Equal("Unhealthy", down.BodyStatusOf());
        Assert.Equal("Unhealthy", down.CheckStatus(failed));
        Assert.Equal("Healthy", down.CheckStatus(other));

        for (var i = 0; i < 8; i++)
        {
            var ready = await host.GetAsync("/health/ready");
            var live = await host.GetAsync("/health/live");
            var basic = await host.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
            Assert.Equal(HttpStatusCode.OK, live.Status);
            Assert.Equal(HttpStatusCode.OK, basic.Status);
            Assert.All([ready, live, basic], p => Assert.True(p.Elapsed < CallBound, $"a call took too long: {p}"));
            await Task.Delay(150);
        }

        var detailed = await host.GetAsync("/health/detailed");
        Assert.True(detailed.Elapsed < CallBound, $"a call took too long: {detailed}");
        Assert.Equal("Unhealthy", detailed.CheckStatus(failed));
        Assert.False(string.IsNullOrEmpty(detailed.CheckError(failed)), detailed.ToString());
    }
}

internal static class ProbeExtensions
{
    public static string? BodyStatusOf(this Probe probe) => probe.Body.GetProperty("status").GetString();
}
