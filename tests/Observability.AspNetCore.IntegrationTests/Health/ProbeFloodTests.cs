using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>Many probes, few dependency round trips, few connections: counted on the servers themselves.</summary>
public sealed class ProbeFloodTests(ITestOutputHelper output)
{
    private const int Probes = 1000;
    private const int Concurrency = 50;

    private static async Task<TimeSpan> FloodAsync(HealthHost host, int pauseMs = 0, string path = "/health/ready")
    {
        var started = Stopwatch.GetTimestamp();
        var next = -1;
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < Probes)
            {
                using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failures);
                }

                if (pauseMs > 0)
                {
                    await Task.Delay(pauseMs);
                }
            }
        }));
        Assert.Equal(0, failures);
        return Stopwatch.GetElapsedTime(started);
    }

    // Npgsql uses the extended protocol: log_statement=all logs the check as "execute <unnamed>: SELECT 1".
    private static int CountStatements(PostgresServer postgres) =>
        File.ReadLines(postgres.LogPath).Count(l => l.EndsWith(": SELECT 1", StringComparison.Ordinal) && (l.Contains("execute", StringComparison.Ordinal) || l.Contains("statement", StringComparison.Ordinal)));

    private static async Task<long> PingCallsAsync(RedisServer redis)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var info = await admin.GetServer(admin.GetEndPoints()[0]).InfoRawAsync("commandstats");

        // cmdstat_ping:calls=12,usec=...
        var line = info!.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_ping:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<int> PostgresConnectionsAsync(PostgresServer postgres, string applicationName) =>
        await postgres.ExecuteScalarAsync<int>($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{applicationName}'");

    private static async Task<ClientInfo[]> RedisClientsAsync(RedisServer redis)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true,name=test-admin");
        return await admin.GetServer(admin.GetEndPoints()[0]).ClientListAsync();
    }

    [Fact]
    public async Task A_flood_of_1000_ready_probes_50_at_a_time_queries_each_dependency_at_most_once_per_CacheMs()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();

        // Every statement goes to the server log, where the test counts the check's SELECT 1.
        await postgres.ExecuteAsync("ALTER SYSTEM SET log_statement = 'all'");
        await postgres.ExecuteAsync("SELECT pg_reload_conf()");
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:Redis:ConnectionString"] = redis.ConnectionString,
        });
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.True(CountStatements(postgres) >= 1, "log_statement=all did not log the check's query\n" + postgres.ReadLogTail());
        var statementsBefore = CountStatements(postgres);
        var pingsBefore = await PingCallsAsync(redis);

        // Paced (50 callers, a pause of 150 ms after each answer) so the flood spans several cache windows: a hot cache
        // answers 1,000 probes in a few milliseconds, which would prove nothing about "once per window".
        var elapsed = await FloodAsync(host, pauseMs: 150);
        await Task.Delay(300);

        var statements = CountStatements(postgres) - statementsBefore;
        var pings = await PingCallsAsync(redis) - pingsBefore;
        var allowed = (int)(elapsed.TotalMilliseconds / 1000) + 1;
        output.WriteLine($"{Probes} probes in {elapsed.TotalMilliseconds:0} ms: {statements} SELECT 1, {pings} PING (at most {allowed} each)");
        Assert.True(statements >= 2, $"only {statements} SELECT 1 over {elapsed.TotalMilliseconds:0} ms: the flood did not span several windows");
        Assert.True(statements <= allowed, $"{statements} SELECT 1 for {Probes} probes in {elapsed.TotalMilliseconds:0} ms (at most {allowed})");
        Assert.True(pings <= allowed, $"{pings} PING for {Probes} probes in {elapsed.TotalMilliseconds:0} ms (at most {allowed})");
    }

    [Fact]
    public async Task After_1000_probes_with_the_cache_off_the_servers_see_a_small_constant_number_of_check_connections()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HealthHost.StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Health:CacheMs"] = "0",
            ["Observability:Health:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Observability:Health:Redis:ConnectionString"] = redis.ConnectionString,
        });
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        var pingsBefore = await PingCallsAsync(redis);

        await FloodAsync(host);

        // Without the cache many runs happened (each sharing at most one in flight), so the bound below is not an
        // accident of few runs.
        Assert.True(await PingCallsAsync(redis) - pingsBefore >= 20, "too few runs to say anything about connections");
        var runs = await PingCallsAsync(redis) - pingsBefore;
        var pg = await PostgresConnectionsAsync(postgres, "observability-health");
        var clients = await RedisClientsAsync(redis);
        var ours = clients.Count(c => c.Name == "observability-health");
        output.WriteLine($"{Probes} probes, {runs} runs: {pg} PostgreSQL connections, {ours} Redis connections of the check");
        Assert.InRange(pg, 1, 2);
        Assert.InRange(ours, 1, 2);
        Assert.True(clients.Count(c => c.Name != "test-admin") <= 2, "Redis clients: " + string.Join(", ", clients.Select(c => c.Name)));
    }

    [Fact]
    public async Task The_checks_use_the_apps_own_NpgsqlDataSource_and_IConnectionMultiplexer_when_it_registers_them()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        var appConnectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { ApplicationName = "app-pool" }.ConnectionString;
        await using var host = await HealthHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
                ["ConnectionStrings:Redis"] = redis.ConnectionString,
                ["Observability:Health:CacheMs"] = "0",
                ["Observability:Health:Postgres:ConnectionStringName"] = "Postgres",
                ["Observability:Health:Redis:ConnectionStringName"] = "Redis",
            },
            b =>
            {
                b.Services.AddSingleton(_ => NpgsqlDataSource.Create(appConnectionString));
                b.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis.ConnectionString + ",name=app-mux"));
            });
        await Poll.UntilAsync(() => host.GetAsync("/health/ready"), p => p.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));

        await FloodAsync(host);

        Assert.Equal(0, await PostgresConnectionsAsync(postgres, "observability-health"));
        Assert.InRange(await PostgresConnectionsAsync(postgres, "app-pool"), 1, 2);
        var clients = await RedisClientsAsync(redis);
        Assert.DoesNotContain(clients, c => c.Name == "observability-health");
        Assert.Contains(clients, c => c.Name == "app-mux");
    }
}
