using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>The sample API run as a real process: SIGTERM drain, and which checks it turns on.</summary>
[Collection(ServersCollection.Name)]
public sealed class SampleHealthTests(ServersFixture servers)
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(AppProcess app, string path)
    {
        using var response = await app.Client.GetAsync(new Uri(path.TrimStart('/'), UriKind.Relative));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    // The requests below run for 2.3 s after SIGTERM; the delay leaves 2.7 s more, so a loaded CI machine whose last
    // two requests arrive late still finds the app serving (with 3 s, one run was refused at the very end).
    private const int ShutdownDelayMs = 5000;

    [Fact]
    public async Task After_SIGTERM_ready_is_503_while_api_requests_still_answer_200_for_the_shutdown_delay_then_the_process_exits_0()
    {
        using var directory = TempDirectory.Create("obs-drain");
        await using var app = await AppProcess.StartAsync(
            AppProcess.SampleApiDllPath(),
            new Dictionary<string, string?>
            {
                ["Observability__Health__ShutdownDelayMs"] = ShutdownDelayMs.ToString(CultureInfo.InvariantCulture),
                ["ConnectionStrings__Sqlite"] = $"Data Source={directory.Combine("drain.db")}",
            },
            readinessPath: "/health");
        // The first request creates the SQLite database (~2 s on an idle machine; past 5 s on a loaded one).
        using var client = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("api/items", UriKind.Relative))).StatusCode);
        await Poll503Async(client, expectReady: true);

        await app.SendSigtermAsync();
        var signalled = Stopwatch.GetTimestamp();

        // Readiness flips at once...
        await Poll503Async(client, expectReady: false);
        Assert.True(Stopwatch.GetElapsedTime(signalled) < TimeSpan.FromSeconds(1), "ready did not turn 503 within 1 s of SIGTERM");

        // ...while the API keeps answering for the whole delay.
        // Counted by when each round started, not how many fit: on a loaded machine a round took ~1 s once (2 rounds).
        var served = 0;
        var lastServedAt = TimeSpan.Zero;
        while (Stopwatch.GetElapsedTime(signalled) is var startedAt && startedAt < TimeSpan.FromMilliseconds(2300))
        {
            using var items = await client.GetAsync(new Uri("api/items", UriKind.Relative));
            using var ready = await client.GetAsync(new Uri("health/ready", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, items.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            served++;
            lastServedAt = startedAt;
            await Task.Delay(200);
        }

        Assert.True(served >= 2, $"only {served} rounds during the delay");
        Assert.True(lastServedAt >= TimeSpan.FromMilliseconds(1300), $"the last round started {lastServedAt.TotalMilliseconds:0} ms after SIGTERM: the delay was not exercised to its end");
        Assert.Equal(0, await app.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(Stopwatch.GetElapsedTime(signalled) >= TimeSpan.FromMilliseconds(ShutdownDelayMs - 100), "the process exited before the shutdown delay was over");
        Assert.Contains(app.JsonLines(), l => l.TryGetProperty("EventId", out var id) && id.TryGetProperty("Id", out var n) && n.GetInt32() == 1403);
    }

    private static async Task Poll503Async(HttpClient client, bool expectReady)
    {
        var expected = expectReady ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.GetAsync(new Uri("health/ready", UriKind.Relative));
            if (response.StatusCode == expected)
            {
                return;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(5), $"ready stayed {(int)response.StatusCode}");
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task Sample_on_its_SQLite_default_starts_with_no_dependency_check()
    {
        using var directory = TempDirectory.Create("obs-sample");
        await using var app = await AppProcess.StartAsync(
            AppProcess.SampleApiDllPath(),
            new Dictionary<string, string?> { ["ConnectionStrings__Sqlite"] = $"Data Source={directory.Combine("sample.db")}" },
            readinessPath: "/health");

        var (status, body) = await GetJsonAsync(app, "/health/detailed");
        var (readyStatus, _) = await GetJsonAsync(app, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);

        // No dependency check: only the sample's background worker, which registers a beat interval.
        Assert.Equal(["worker:sample-worker"], body.GetProperty("checks").EnumerateObject().Select(c => c.Name));
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("sample-api", body.GetProperty("service").GetString());
    }

    [Fact]
    public async Task Sample_on_PostgreSQL_and_Redis_checks_both_and_is_ready()
    {
        var database = $"sample_{Guid.NewGuid():N}";
        await servers.Postgres.CreateDatabaseAsync(database);
        await using var app = await AppProcess.StartAsync(
            AppProcess.SampleApiDllPath(),
            new Dictionary<string, string?>
            {
                ["ConnectionStrings__Postgres"] = servers.Postgres.ConnectionStringFor(database),
                ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
            },
            readinessPath: "/health");

        // The first run in a fresh process (JIT, SCRAM authentication) may exceed the timeout on a loaded machine.
        var deadline = Stopwatch.StartNew();
        var (readyStatus, ready) = await GetJsonAsync(app, "/health/ready");
        while (readyStatus != HttpStatusCode.OK && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(250);
            (readyStatus, ready) = await GetJsonAsync(app, "/health/ready");
        }

        var (status, body) = await GetJsonAsync(app, "/health/detailed");

        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal(["postgres", "redis"], ready.GetProperty("checks").EnumerateObject().Select(c => c.Name));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["postgres", "redis", "worker:sample-worker"], body.GetProperty("checks").EnumerateObject().Select(c => c.Name));
        Assert.All(body.GetProperty("checks").EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
    }
}
