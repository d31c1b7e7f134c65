using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A service whose database or cache is down must still start (or it crash-loops and takes its health and metrics
/// endpoints with it), keep serving what does not need them, and fail what does quickly rather than pile up requests.
/// Two kinds of "down": refused (nothing listens, the fast case) and silent (accepts, never answers, the nasty case).
/// </summary>
public sealed class DependenciesDownTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task App_starts_and_answers_endpoints_without_dependencies_fast_while_postgres_and_redis_refuse_connections()
    {
        await using var sample = await SampleApiProcess.StartAsync(Dependencies(FreePort.Next(), FreePort.Next()));

        await AssertAnswersFastAsync(sample.Client, "/");
        await AssertAnswersFastAsync(sample.Client, "/api/slow?ms=1");
    }

    [Theory]
    [InlineData("/api/items")]
    [InlineData("/api/cache/k")]
    public async Task Endpoint_needing_a_refusing_dependency_fails_with_a_5xx_within_seconds(string path)
    {
        await using var sample = await SampleApiProcess.StartAsync(Dependencies(FreePort.Next(), FreePort.Next()));

        // The token only keeps a hang from stalling the run; the assertion on the time is the point.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        using var response = await sample.Client.GetAsync(path, cts.Token);
        clock.Stop();

        Assert.True((int)response.StatusCode is >= 500 and <= 599, $"GET {path}: expected a 5xx, got {(int)response.StatusCode}.");
        Assert.True(clock.Elapsed < FailFast, $"GET {path} took {clock.ElapsedMilliseconds} ms to fail.");
    }

    [Fact]
    public async Task Endpoints_without_dependencies_answer_fast_while_postgres_and_redis_accept_but_never_answer()
    {
        using var silentPostgres = new SilentListener();
        using var silentRedis = new SilentListener();
        await using var sample = await SampleApiProcess.StartAsync(Dependencies(silentPostgres.Port, silentRedis.Port));

        // Requests stuck on the dependencies at the same time: they must not hold up the others (thread-pool
        // starvation, a lock held across the connect, a start-up gate).
        var stuckOnDatabase = StatusOrNullAsync(sample.Client, "/api/items");
        var stuckOnCache = StatusOrNullAsync(sample.Client, "/api/cache/k");
        await Poll.UntilAsync(
            () => silentPostgres.AcceptedConnections > 0 && silentRedis.AcceptedConnections > 0,
            TimeSpan.FromSeconds(10),
            () => "Timed out after 10 s: the app never connected to the silent PostgreSQL and Redis.");

        await AssertAnswersFastAsync(sample.Client, "/");
        await AssertAnswersFastAsync(sample.Client, "/api/slow?ms=1");
        Assert.False(stuckOnDatabase.IsCompleted, "The database request was expected to still be waiting on the silent server.");

        // Killing the app ends the stuck requests; they are awaited so nothing outlives the test.
        await sample.DisposeAsync();
        await Task.WhenAll(stuckOnDatabase, stuckOnCache).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static Dictionary<string, string?> Dependencies(int postgresPort, int redisPort) => new()
    {
        ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = postgresPort,
            Username = "postgres",
            Password = "unused",
            Database = "sample",
            Timeout = 5,
        }.ConnectionString,
        ["ConnectionStrings__Redis"] = $"127.0.0.1:{redisPort.ToString(CultureInfo.InvariantCulture)},abortConnect=false,connectTimeout=2000",
    };

    private static async Task AssertAnswersFastAsync(HttpClient client, string path)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync(path, cts.Token);
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < Fast, $"GET {path} took {clock.ElapsedMilliseconds} ms.");
    }

    private static async Task<HttpStatusCode?> StatusOrNullAsync(HttpClient client, string path)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            using var response = await client.GetAsync(path, cts.Token);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            return null;
        }
    }
}
