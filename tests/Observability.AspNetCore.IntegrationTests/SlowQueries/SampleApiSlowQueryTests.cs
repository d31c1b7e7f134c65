using System.Text.Json;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.SlowQueries;

/// <summary>
/// The sample API run as a real process (<c>dotnet Observability.SampleApi.dll</c>, Production, its own appsettings.json
/// with the default 500 ms threshold), its stdout parsed line by line as a log shipper would: <c>/api/db/slow?ms=700</c>
/// writes exactly one slow-query warning carrying that request's ID, <c>?ms=1</c> none; on SQLite and on PostgreSQL.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class SampleApiSlowQueryTests(ServersFixture servers)
{
    [Fact]
    public async Task Sample_on_SQLite_writes_exactly_one_slow_query_warning_per_slow_call_with_its_request_id()
    {
        using var directory = TempDirectory.Create("obs-slowq");
        await using var app = await StartSampleAsync(directory, postgres: null);

        await AssertOneWarningPerSlowCallAsync(app, "sqlite", "main", "SELECT sleep(@p0)");
    }

    [Fact]
    public async Task Sample_on_PostgreSQL_writes_exactly_one_slow_query_warning_per_slow_call_with_its_request_id()
    {
        var database = "slowq_sample_" + Guid.NewGuid().ToString("N")[..8];
        await servers.Postgres.CreateDatabaseAsync(database);
        var connectionString = new NpgsqlConnectionStringBuilder(servers.Postgres.ConnectionString) { Database = database }.ConnectionString;
        using var directory = TempDirectory.Create("obs-slowq");
        await using var app = await StartSampleAsync(directory, connectionString);

        await AssertOneWarningPerSlowCallAsync(app, "postgresql", database, "SELECT pg_sleep(@p0)");
    }

    private static async Task AssertOneWarningPerSlowCallAsync(AppProcess app, string dbSystem, string database, string commandText)
    {
        // The first database request creates and seeds the schema; warm it up so the calls below are one command each.
        // (Its own schema commands may cross the threshold on a loaded machine: only the calls below are counted.)
        var warmUp = await GetAsync(app, "/api/items");
        var before = Exposition.Parse(await app.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));

        var slow1 = await GetAsync(app, "/api/db/slow?ms=700");
        var fast1 = await GetAsync(app, "/api/db/slow?ms=1");
        var slow2 = await GetAsync(app, "/api/db/slow?ms=700");
        var fast2 = await GetAsync(app, "/api/db/slow?ms=1");

        var warnings = app.JsonLines().Where(e => e.IsSlowQuery() && e.Str("RequestId") != warmUp).ToList();
        Assert.True(warnings.Count == 2, $"Expected 2 slow-query warnings, found {warnings.Count}.\n{app.OutputDump}");
        Assert.Equal([slow1, slow2], warnings.Select(w => w.Str("RequestId")));
        foreach (var warning in warnings)
        {
            Assert.Equal("Warning", warning.Level());
            Assert.Equal(1300, warning.EventIdOf());
            Assert.Equal(dbSystem, warning.Str("DbSystem"));
            Assert.Equal(database, warning.Str("Database"));
            Assert.Equal(commandText, warning.Str("CommandText"));
            Assert.Equal(500, warning.GetProperty("ThresholdMs").GetInt32());
            Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 690, 10_000);
            Assert.Equal("sample-api", warning.Str("Service"));
        }

        Assert.DoesNotContain(app.JsonLines(), e => e.IsSlowQuery() && (e.Str("RequestId") == fast1 || e.Str("RequestId") == fast2));

        // Each call ran one command, and the process counted each command once: two observations of 0.5 s to 5 s
        // (the app's own health checks may run fast commands meanwhile, hence at least four in all).
        var completions = new[] { slow1, fast1, slow2, fast2 }.Select(id => Completion(app, id)).ToList();
        Assert.All(completions, c => Assert.Equal(1, c.GetProperty("DbCommands").GetInt32()));
        Assert.True(completions[0].GetProperty("DbElapsed").GetDouble() >= 690);
        var after = Exposition.Parse(await app.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        var label = ("db_system", dbSystem);
        Assert.Equal(
            2,
            after.IncreaseSince(before, "db_query_duration_seconds_bucket", label, ("le", "5"))
            - after.IncreaseSince(before, "db_query_duration_seconds_bucket", label, ("le", "0.5")));
        Assert.True(after.IncreaseSince(before, "db_query_duration_seconds_count", label) >= 4);
        Assert.Equal(2, after.IncreaseSince(before, "db_slow_queries_total", label));
    }

    private static async Task<AppProcess> StartSampleAsync(TempDirectory directory, string? postgres)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Sqlite"] = $"Data Source={directory.Combine("sample.db")}",
            ["ConnectionStrings__Postgres"] = postgres,
            ["ConnectionStrings__Redis"] = null,
        };
        return await AppProcess.StartAsync(AppProcess.SampleApiDllPath(), environment);
    }

    /// <summary>GET, then wait for the request's completion event, so the stdout lines of the request are all there.</summary>
    private static async Task<string> GetAsync(AppProcess app, string path)
    {
        using var response = await app.Client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}.\n{app.OutputDump}");
        var id = response.Headers.GetValues("X-Request-ID").Single();
        await Poll.UntilAsync(
            () => app.JsonLines().Any(e => e.IsCompletion() && e.Str("RequestId") == id),
            TimeSpan.FromSeconds(10),
            () => $"No completion event for {id}.\n{app.OutputDump}",
            intervalMs: 25);

        return id;
    }

    private static JsonElement Completion(AppProcess app, string id) =>
        Assert.Single(app.JsonLines(), e => e.IsCompletion() && e.Str("RequestId") == id);
}
