using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.SlowQueries;

/// <summary>
/// Slow and repeated queries against a real PostgreSQL: EF Core on Npgsql (seen by both the interceptor and the Npgsql
/// listener, reported once) and raw Npgsql with no EF Core at all (an <c>NpgsqlDataSource</c> and a plain
/// <c>NpgsqlConnection</c>, as Dapper-style code uses them).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class PostgresSlowQueryTests(ServersFixture servers)
{
    private const string Marker = "pgmarker-5d0e8b7c-a913";

    private async Task<string> CreateDatabaseAsync()
    {
        var name = "slowq_" + Guid.NewGuid().ToString("N")[..12];
        await servers.Postgres.CreateDatabaseAsync(name);
        return new NpgsqlConnectionStringBuilder(servers.Postgres.ConnectionString) { Database = name }.ConnectionString;
    }

    private static double Seconds(int ms) => ms / 1000.0;

    private static void MapEfCore(WebApplication app)
    {
        app.MapGet("/ef/sleep/{ms:int}", async (int ms, ItemsContext db, CancellationToken ct) =>
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_sleep({Seconds(ms)}), {Marker}", ct);
            return "slept";
        });
        app.MapGet("/ef/loop/{count:int}", async (int count, ItemsContext db, CancellationToken ct) =>
        {
            for (var id = 1; id <= count; id++)
            {
                await db.Items.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
            }

            return count;
        });
    }

    private static async Task<QueryHost> StartEfCoreAsync(string connectionString, bool contextBeforeObservability = false)
    {
        var host = await QueryHost.StartAsync(
            b => b.Services.AddDbContext<ItemsContext>(o => o.UseNpgsql(connectionString)),
            MapEfCore,
            dataBeforeObservability: contextBeforeObservability);
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ItemsContext>();
        await db.Database.EnsureCreatedAsync();
        db.Items.AddRange(Enumerable.Range(1, 30).Select(i => new Item { Id = i, Name = $"item {i}" }));
        await db.SaveChangesAsync();
        return host;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EF_Core_on_PostgreSQL_slow_command_is_reported_once_and_timed_once(bool contextBeforeObservability)
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartEfCoreAsync(connectionString, contextBeforeObservability);
        var before = await host.MetricsAsync();

        var slow = await host.GetAsync("/ef/sleep/700");
        var fast = await host.GetAsync("/ef/sleep/1");

        // Scoped to this test's requests: the setup's EnsureCreated runs outside any request and can itself cross the
        // 200 ms threshold on a loaded machine.
        var warning = Assert.Single(host.Events(), e => e.IsSlowQuery() && e.Str("RequestId") == slow);
        Assert.DoesNotContain(host.Events(), e => e.IsSlowQuery() && e.Str("RequestId") == fast);
        Assert.Equal("Warning", warning.Level());
        Assert.Equal(1300, warning.EventIdOf());
        Assert.Equal(slow, warning.Str("RequestId"));
        Assert.Equal("postgresql", warning.Str("DbSystem"));
        Assert.Equal(new NpgsqlConnectionStringBuilder(connectionString).Database, warning.Str("Database"));
        Assert.Equal("SELECT pg_sleep(@p0), @p1", warning.Str("CommandText"));
        Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 690, 10_000);
        Assert.Equal(200, warning.GetProperty("ThresholdMs").GetInt32());

        // Counted once per command: the request saw one command, and one observation fell between 0.5 s and 1 s
        // (with both the interceptor and the listener counting it, there would be two). Fast commands of other tests'
        // hosts in this process cannot land in that bucket.
        Assert.Equal(1, (await host.CompletionEventAsync(slow)).GetProperty("DbCommands").GetInt32());
        Assert.Equal(1, (await host.CompletionEventAsync(fast)).GetProperty("DbCommands").GetInt32());
        var after = await host.MetricsAsync();
        Assert.Equal(1, SlowBucketDelta(before, after));
        Assert.Equal(1, after.IncreaseSince(before, "db_slow_queries_total", ("db_system", "postgresql")));
        Assert.DoesNotContain(Marker, host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EF_Core_on_PostgreSQL_twenty_five_lookups_write_one_repeated_query_warning_counting_each_once()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartEfCoreAsync(connectionString);

        var id = await host.GetAsync("/ef/loop/25");

        var warning = Assert.Single(host.Events(), e => e.IsRepeatedQuery());
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal(25, warning.GetProperty("Count").GetInt32());
        Assert.Equal("/ef/loop/{count:int}", warning.Str("Route"));
        Assert.Equal("postgresql", warning.Str("DbSystem"));
        Assert.Contains("FROM \"Items\" AS i", warning.Str("CommandText"), StringComparison.Ordinal);
        Assert.Equal(25, (await host.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());
        var metrics = await host.MetricsAsync();
        Assert.Equal(1, metrics.Single("db_repeated_queries_total", ("endpoint", "/ef/loop/{count:int}")));
        Assert.Equal(25, metrics.Single("http_request_db_commands_sum", ("endpoint", "/ef/loop/{count:int}")));
    }

    private static void MapRawNpgsql(WebApplication app, string connectionString)
    {
        // Through the app's NpgsqlDataSource, parameters as $1, $2.
        app.MapGet("/raw/sleep/{ms:int}", async (int ms, NpgsqlDataSource dataSource, CancellationToken ct) =>
        {
            await using var command = dataSource.CreateCommand("SELECT pg_sleep($1), $2::text");
            command.Parameters.Add(new NpgsqlParameter { Value = Seconds(ms) });
            command.Parameters.Add(new NpgsqlParameter { Value = Marker });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
            }

            return "slept";
        });

        // Dapper-style: a plain connection opened by the app, a named parameter, synchronous execution.
        app.MapGet("/raw/connection/{ms:int}", (int ms) =>
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = new NpgsqlCommand("SELECT pg_sleep(@seconds), @marker::text /* it's */", connection);
            command.Parameters.AddWithValue("seconds", Seconds(ms));
            command.Parameters.AddWithValue("marker", Marker);
            command.ExecuteScalar();
            return "slept";
        });

        app.MapGet("/raw/fail/{ms:int}", async (int ms, NpgsqlDataSource dataSource, CancellationToken ct) =>
        {
            // Runs for ms, then fails: a failing slow command.
            var sql = "DO $body$BEGIN PERFORM pg_sleep(" + Seconds(ms).ToString(CultureInfo.InvariantCulture) + "); RAISE EXCEPTION 'failing on purpose'; END$body$";
            await using var command = dataSource.CreateCommand(sql);
            try
            {
                await command.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException)
            {
                return "failed as planned";
            }

            return "did not fail";
        });

        app.MapGet("/raw/inlined/{count:int}", async (int count, NpgsqlDataSource dataSource, CancellationToken ct) =>
        {
            for (var i = 1; i <= count; i++)
            {
                await using var command = dataSource.CreateCommand("SELECT " + i.ToString(CultureInfo.InvariantCulture) + " + 1, 'it''s " + i.ToString(CultureInfo.InvariantCulture) + "'");
                await command.ExecuteScalarAsync(ct);
            }

            return count;
        });
    }

    private Task<QueryHost> StartRawAsync(string connectionString, Dictionary<string, string?>? configuration = null) =>
        QueryHost.StartAsync(
            b => b.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString)),
            app => MapRawNpgsql(app, connectionString),
            configuration);

    [Fact]
    public async Task Raw_NpgsqlDataSource_slow_query_without_EF_Core_writes_one_warning_with_db_system_postgresql()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartRawAsync(connectionString);
        var before = await host.MetricsAsync();

        var slow = await host.GetAsync("/raw/sleep/600");
        var fast = await host.GetAsync("/raw/sleep/1");

        // Scoped to this test's requests: the Npgsql listener is process-wide, and other tests' setup commands (run
        // outside any request) can cross the threshold on a loaded machine.
        var warning = Assert.Single(host.Events(), e => e.IsSlowQuery() && e.Str("RequestId") is { } r && (r == slow || r == fast));
        Assert.Equal(slow, warning.Str("RequestId"));
        Assert.NotEqual(fast, slow);
        Assert.Equal("postgresql", warning.Str("DbSystem"));
        Assert.Equal(new NpgsqlConnectionStringBuilder(connectionString).Database, warning.Str("Database"));
        Assert.Equal("SELECT pg_sleep($1), $2::text", warning.Str("CommandText"));
        Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 590, 10_000);
        Assert.Equal(1, (await host.CompletionEventAsync(slow)).GetProperty("DbCommands").GetInt32());
        Assert.Equal(1, SlowBucketDelta(before, await host.MetricsAsync()));
        Assert.DoesNotContain(Marker, host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_NpgsqlConnection_slow_query_is_reported_with_its_named_placeholders_and_no_values()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartRawAsync(connectionString);

        var slow = await host.GetAsync("/raw/connection/400");
        var fast = await host.GetAsync("/raw/connection/1");

        var warning = Assert.Single(host.Events(), e => e.IsSlowQuery() && e.Str("RequestId") is { } r && (r == slow || r == fast));
        Assert.Equal(slow, warning.Str("RequestId"));
        Assert.Equal("SELECT pg_sleep(@seconds), @marker::text /* it's */", warning.Str("CommandText"));
        Assert.DoesNotContain(Marker, host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_Npgsql_failing_slow_command_is_reported_with_its_error_type()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartRawAsync(connectionString);

        var id = await host.GetAsync("/raw/fail/400");

        var warning = Assert.Single(host.Events(), e => e.IsSlowQuery() && e.Str("RequestId") == id);
        Assert.Equal(1301, warning.EventIdOf());
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal("PostgresException", warning.Str("ErrorType"));
        Assert.Equal("DO ?", warning.Str("CommandText"));
        Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 390, 10_000);
        Assert.DoesNotContain("failing on purpose", warning.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_Npgsql_commands_with_different_inlined_literals_are_one_repeated_query()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartRawAsync(connectionString);

        var id = await host.GetAsync("/raw/inlined/12");

        var warning = Assert.Single(host.Events(), e => e.IsRepeatedQuery());
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal(12, warning.GetProperty("Count").GetInt32());
        Assert.Equal("SELECT ? + ?, ?", warning.Str("CommandText"));
    }

    [Fact]
    public async Task With_two_hosts_in_one_process_a_command_is_reported_by_the_host_whose_request_ran_it()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var first = await StartRawAsync(connectionString);
        await using var second = await StartRawAsync(connectionString);

        var id = await second.GetAsync("/raw/sleep/400");
        await first.GetAsync("/raw/sleep/1");

        Assert.Equal(id, Assert.Single(second.Events(), e => e.IsSlowQuery()).Str("RequestId"));
        Assert.DoesNotContain(first.Events(), e => e.IsSlowQuery());
    }

    [Fact]
    public async Task EF_Core_on_PostgreSQL_outside_any_request_is_reported_by_its_own_host_when_several_run()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var efHost = await StartEfCoreAsync(connectionString);
        await using var other = await StartRawAsync(connectionString);

        // A background job of the EF Core host: no request tells the listener which host it belongs to, so the
        // interceptor (which knows) reports it.
        await using (var scope = efHost.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ItemsContext>().Database.ExecuteSqlAsync($"SELECT pg_sleep({0.3})");
        }

        // Scoped to the job's command: the setup's EnsureCreated also runs outside any request and can itself cross the
        // 200 ms threshold on a loaded machine (seen on a freshly installed server: CREATE TABLE took 715 ms).
        var warning = Assert.Single(efHost.Events(), e => e.IsSlowQuery() && e.Str("CommandText") == "SELECT pg_sleep(@p0)");
        Assert.False(warning.Has("RequestId"));
        Assert.Equal("postgresql", warning.Str("DbSystem"));
        Assert.DoesNotContain(other.Events(), e => e.IsSlowQuery());
    }

    [Fact]
    public async Task The_listener_never_turns_an_unsampled_Npgsql_activity_into_a_recorded_one()
    {
        var connectionString = await CreateDatabaseAsync();
        await using var host = await StartRawAsync(connectionString);
        var tag = "/* probe " + Guid.NewGuid().ToString("N") + " */";
        var unsampled = new List<Activity>();
        var sampled = new List<Activity>();

        // The app's own tracing, first sampling nothing, then everything.
        var sampleAll = false;
        using (var appTracing = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampleAll ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = a =>
            {
                if ((a.GetTagItem("db.query.text") as string)?.Contains(tag, StringComparison.Ordinal) == true)
                {
                    lock (unsampled)
                    {
                        (a.Recorded ? sampled : unsampled).Add(a);
                    }
                }
            },
        })
        {
            ActivitySource.AddActivityListener(appTracing);
            var dataSource = host.Services.GetRequiredService<NpgsqlDataSource>();
            await using (var command = dataSource.CreateCommand("SELECT 1 " + tag))
            {
                await command.ExecuteScalarAsync();
            }

            sampleAll = true;
            await using (var command = dataSource.CreateCommand("SELECT 2 " + tag))
            {
                await command.ExecuteScalarAsync();
            }
        }

        // Unsampled by the app: created for the listener's tags, but not recorded, so no exporter sends it.
        var quiet = Assert.Single(unsampled);
        Assert.True(quiet.IsAllDataRequested);
        Assert.False(quiet.Recorded);
        Assert.Equal(ActivityTraceFlags.None, quiet.ActivityTraceFlags & ActivityTraceFlags.Recorded);

        // Sampled by the app: stays exactly as the app asked.
        Assert.True(Assert.Single(sampled).Recorded);
    }

    /// <summary>Observations of <c>db_query_duration_seconds{db_system="postgresql"}</c> between 0.25 s and 5 s added between two scrapes.</summary>
    private static double SlowBucketDelta(IReadOnlyList<Sample> before, IReadOnlyList<Sample> after) =>
        after.IncreaseSince(before, "db_query_duration_seconds_bucket", ("db_system", "postgresql"), ("le", "5"))
        - after.IncreaseSince(before, "db_query_duration_seconds_bucket", ("db_system", "postgresql"), ("le", "0.25"));
}

internal sealed class ItemsContext(DbContextOptions<ItemsContext> options) : DbContext(options)
{
    public DbSet<Item> Items => Set<Item>();
}

internal sealed class Item
{
    public int Id { get; set; }

    public string Name { get; set; } = string.Empty;
}
