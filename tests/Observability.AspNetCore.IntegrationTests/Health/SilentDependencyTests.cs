using System.Net;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>
/// A dependency that accepts the TCP connection and never answers: no fast "connection refused", only the check's
/// own timeout protects the probe.
/// </summary>
[Collection(HealthFaultsCollection.Name)]
public sealed class SilentDependencyTests
{
    private const int TimeoutMs = 1000;
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(TimeoutMs + 500);

    private static Dictionary<string, string?> Settings(string postgres, string redis) => new()
    {
        ["Observability:Health:TimeoutMs"] = TimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Observability:Health:CacheMs"] = "200",
        ["Observability:Health:Postgres:ConnectionString"] = postgres,
        ["Observability:Health:Redis:ConnectionString"] = redis,
    };

    /// <summary>
    /// Until the real dependency's first connection is made (JIT, authentication: slow on a loaded two-core machine),
    /// it may itself time out; the assertions are about the steady state after that.
    /// </summary>
    private static Task WarmUpAsync(HealthHost host, string healthy) =>
        Poll.UntilAsync(() => host.GetAsync("/health/detailed"), p => p.CheckStatus(healthy) == "Healthy", TimeSpan.FromSeconds(15));

    [Fact]
    public async Task Silent_postgres_is_unhealthy_timed_out_within_the_timeout_plus_500ms_while_redis_reports_healthy_and_nothing_piles_up()
    {
        using var silent = new SilentListener();
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HealthHost.StartAsync(Settings($"Host=127.0.0.1;Port={silent.Port};Username=app;Password=pw;Database=app", redis.ConnectionString));
        await WarmUpAsync(host, healthy: "redis");

        var detailed = await host.GetAsync("/health/detailed");
        var ready = await host.GetAsync("/health/ready");

        Assert.True(detailed.Elapsed < Bound, detailed.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.Status);
        Assert.True(detailed.CheckStatus("postgres") == "Unhealthy" && detailed.CheckError("postgres") == "timed out", detailed.ToString());
        Assert.True(detailed.CheckStatus("redis") == "Healthy", detailed.ToString());
        Assert.True(ready.Elapsed < Bound, ready.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.True(ready.CheckStatus("postgres") == "Unhealthy" && ready.CheckStatus("redis") == "Healthy", ready.ToString());

        // 20 concurrent probes, five times: at most one connection attempt per run, never one per probe, and the
        // abandoned attempts are closed rather than left open against the server.
        var probes = 0;
        for (var round = 0; round < 5; round++)
        {
            var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.GetAsync("/health/ready")));
            probes += burst.Length;
            Assert.All(burst, p =>
            {
                Assert.True(p.Elapsed < Bound, p.ToString());
                Assert.Equal(HttpStatusCode.ServiceUnavailable, p.Status);
            });
            Assert.True(Sockets.EstablishedTo(silent.Port) <= 2, $"{Sockets.EstablishedTo(silent.Port)} connections open to the silent server");
        }

        Assert.True(silent.AcceptedConnections <= 8, $"{silent.AcceptedConnections} connection attempts for {probes + 2} probes in about 7 runs");
    }

    [Fact]
    public async Task Silent_redis_is_unhealthy_timed_out_within_the_timeout_plus_500ms_while_postgres_reports_healthy_and_nothing_piles_up()
    {
        using var silent = new SilentListener();
        await using var postgres = await PostgresServer.StartAsync();
        await using var host = await HealthHost.StartAsync(Settings(postgres.ConnectionString, $"127.0.0.1:{silent.Port}"));

        // The first run connects the multiplexer: that connect is what never gets an answer.
        var detailed = await host.GetAsync("/health/detailed");

        Assert.True(detailed.Elapsed < Bound, detailed.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.Status);
        Assert.True(detailed.CheckStatus("redis") == "Unhealthy" && detailed.CheckError("redis") == "timed out", detailed.ToString());
        await WarmUpAsync(host, healthy: "postgres");

        var probes = 0;
        for (var round = 0; round < 5; round++)
        {
            var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.GetAsync("/health/ready")));
            probes += burst.Length;
            Assert.All(burst, p =>
            {
                Assert.True(p.Elapsed < Bound, p.ToString());
                Assert.Equal(HttpStatusCode.ServiceUnavailable, p.Status);
                Assert.True(p.CheckStatus("redis") == "Unhealthy" && p.CheckStatus("postgres") == "Healthy", p.ToString());
            });

            // One multiplexer, reconnecting in the background: its interactive and subscription connections at most.
            Assert.True(Sockets.EstablishedTo(silent.Port) <= 2, $"{Sockets.EstablishedTo(silent.Port)} connections open to the silent server");
            await Task.Delay(300);
        }

        // The multiplexer retries once per connect timeout, whatever the number of probes.
        Assert.True(silent.AcceptedConnections <= 12, $"{silent.AcceptedConnections} connection attempts for {probes + 1} probes");
    }
}
