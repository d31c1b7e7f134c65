using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.SlowQueries;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.SlowQueries;

/// <summary>EF Core on a real SQLite file: the interceptor reaches a context registered the normal way, in either order.</summary>
public sealed class EfCoreSqliteSlowQueryTests
{
    private const string Marker = "marker-7f3c9a1e-d2b4";

    internal static bool IsSlowQuery(JsonElement e) => e.Str("@mt")?.Contains("Slow query", StringComparison.Ordinal) == true;

    internal static bool IsRepeatedQuery(JsonElement e) => e.Str("@mt")?.Contains("Repeated query", StringComparison.Ordinal) == true;

    private static Task<SqliteQueryApp> StartAsync(Dictionary<string, string?>? configuration = null, bool contextBeforeObservability = false)
    {
        var settings = new Dictionary<string, string?> { ["Observability:SlowQueries:ThresholdMs"] = "150" };
        foreach (var (k, v) in configuration ?? [])
        {
            settings[k] = v;
        }

        return SqliteQueryApp.StartAsync(Map, settings, contextBeforeObservability);
    }

    private static void Map(WebApplication app)
    {
        // One statement of about ms milliseconds, with a parameter whose value must never be logged.
        app.MapGet("/sleep/{ms:int}", async (int ms, RowsContext db, CancellationToken ct) =>
        {
            await db.Database.ExecuteSqlAsync($"SELECT sleep({ms}), {Marker}", ct);
            return "slept";
        });
        app.MapGet("/fail/{ms:int}", async (int ms, RowsContext db, CancellationToken ct) =>
        {
            try
            {
                await db.Database.ExecuteSqlAsync($"SELECT fail_after({ms}), {Marker}", ct);
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                return "failed as planned";
            }

            return "did not fail";
        });
        app.MapGet("/loop/{count:int}", async (int count, RowsContext db, CancellationToken ct) =>
        {
            for (var id = 1; id <= count; id++)
            {
                await db.Rows.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, ct);
            }

            return count;
        });
        app.MapGet("/inlined/{count:int}", async (int count, RowsContext db, CancellationToken ct) =>
        {
            for (var id = 1; id <= count; id++)
            {
#pragma warning disable EF1003 // literals inlined on purpose: the N+1 grouping must see through them
                await db.Database.ExecuteSqlRawAsync("SELECT Name FROM Rows WHERE Id = " + id + " AND Name <> 'it''s'", ct);
#pragma warning restore EF1003
            }

            return count;
        });
        app.MapGet("/three", async (RowsContext db, CancellationToken ct) =>
        {
            await db.Rows.CountAsync(ct);
            await db.Rows.AsNoTracking().FirstAsync(ct);
            await db.Database.ExecuteSqlAsync($"SELECT sleep(20)", ct);
            return 3;
        });
        app.MapGet("/none", () => "no database");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Slow_command_writes_one_warning_with_request_id_db_system_and_command_text_whatever_the_registration_order(bool contextBeforeObservability)
    {
        await using var app = await StartAsync(contextBeforeObservability: contextBeforeObservability);

        var slow = await app.GetAsync("/sleep/400");
        var fast = await app.GetAsync("/sleep/1");

        var warning = Assert.Single(app.Events(), IsSlowQuery);
        Assert.Equal("Warning", warning.Level());
        Assert.Equal(slow, warning.Str("RequestId"));
        Assert.NotEqual(fast, slow);
        Assert.Equal("sqlite", warning.Str("DbSystem"));
        Assert.Equal("main", warning.Str("Database"));
        Assert.Equal("SELECT sleep(@p0), @p1", warning.Str("CommandText"));
        Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 390, 10_000);
        Assert.Equal(150, warning.GetProperty("ThresholdMs").GetInt32());
        Assert.Equal(1300, warning.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.Equal(SlowQueryMonitor.LoggerCategory, warning.Str("SourceContext"));
    }

    [Fact]
    public async Task EF_Core_per_command_information_events_are_off_by_default()
    {
        // EF Core logs "Executed DbCommand" with the SQL (inlined literals included) at Information for every command;
        // the library's default keeps that category at Warning, so only the slow-query events report commands.
        await using var app = await StartAsync();

        var id = await app.GetAsync("/loop/3");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), e => e.Str("SourceContext") == "Microsoft.EntityFrameworkCore.Database.Command");
    }

    [Fact]
    public async Task EF_Core_command_events_come_back_when_the_serilog_section_asks_for_them()
    {
        await using var app = await StartAsync(new() { ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore.Database.Command"] = "Information" });

        var id = await app.GetAsync("/loop/3");
        await app.CompletionEventAsync(id);

        Assert.Contains(app.Events(), e => e.Str("SourceContext") == "Microsoft.EntityFrameworkCore.Database.Command");
    }

    [Fact]
    public async Task Every_command_feeds_the_duration_histogram_and_a_slow_one_the_slow_counter()
    {
        await using var app = await StartAsync();
        var before = await app.ScrapeAsync();

        var slow = await app.GetAsync("/sleep/300");
        var fast = await app.GetAsync("/three");

        var after = await app.ScrapeAsync();
        var commands = (await app.CompletionEventAsync(slow)).GetProperty("DbCommands").GetInt32()
            + (await app.CompletionEventAsync(fast)).GetProperty("DbCommands").GetInt32();
        Assert.Equal(4, commands);
        Assert.Equal(commands, after.Value("db_query_duration_seconds_count", ("db_system", "sqlite")) - before.Value("db_query_duration_seconds_count", ("db_system", "sqlite")));
        Assert.Equal(1, after.Value("db_slow_queries_total", ("db_system", "sqlite")));
        Assert.True(after.Value("db_query_duration_seconds_sum", ("db_system", "sqlite")) - before.Value("db_query_duration_seconds_sum", ("db_system", "sqlite")) >= 0.29);
    }

    [Fact]
    public async Task Completion_event_carries_the_number_and_total_time_of_the_request_commands()
    {
        await using var app = await StartAsync();

        var three = await app.GetAsync("/three");
        var none = await app.GetAsync("/none");

        var withDb = await app.CompletionEventAsync(three);
        Assert.Equal(3, withDb.GetProperty("DbCommands").GetInt32());
        Assert.Equal(JsonValueKind.Number, withDb.GetProperty("DbElapsed").ValueKind);
        Assert.InRange(withDb.GetProperty("DbElapsed").GetDouble(), 19, withDb.GetProperty("Elapsed").GetDouble());

        var withoutDb = await app.CompletionEventAsync(none);
        Assert.False(withoutDb.Has("DbCommands"));
        Assert.False(withoutDb.Has("DbElapsed"));

        var samples = await app.ScrapeAsync();
        Assert.Equal(1, samples.Value("http_request_db_commands_count", ("endpoint", "/three")));
        Assert.Equal(3, samples.Value("http_request_db_commands_sum", ("endpoint", "/three")));
        Assert.Equal(0, samples.Value("http_request_db_commands_count", ("endpoint", "/none")));
    }

    [Fact]
    public async Task Failing_slow_command_is_reported_with_its_error_type()
    {
        await using var app = await StartAsync();

        var id = await app.GetAsync("/fail/300");

        var warning = Assert.Single(app.Events(), IsSlowQuery);
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal("SqliteException", warning.Str("ErrorType"));
        Assert.Equal("SELECT fail_after(@p0), @p1", warning.Str("CommandText"));
        Assert.Equal(1301, warning.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.InRange(warning.GetProperty("DurationMs").GetDouble(), 290, 10_000);
        Assert.Equal(1, (await app.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());
    }

    [Fact]
    public async Task Parameter_values_never_reach_the_log_output()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowQueries:RepeatedQueryThreshold"] = "2" });

        await app.GetAsync("/sleep/200");
        await app.GetAsync("/fail/200");
        await app.GetAsync("/inlined/3");

        Assert.Equal(2, app.Events().Count(IsSlowQuery));
        Assert.Single(app.Events(), IsRepeatedQuery);
        Assert.True(!app.Output.Contains(Marker, StringComparison.Ordinal), app.Output);
    }

    [Fact]
    public async Task Command_text_is_cut_to_the_configured_length()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowQueries:MaxCommandTextLength"] = "12" });

        await app.GetAsync("/sleep/200");

        var warning = Assert.Single(app.Events(), IsSlowQuery);
        Assert.Equal("SELECT slee…", warning.Str("CommandText"));
    }

    [Fact]
    public async Task Twenty_five_lookups_in_a_loop_write_exactly_one_repeated_query_warning()
    {
        await using var app = await StartAsync();

        var id = await app.GetAsync("/loop/25");
        await app.GetAsync("/loop/3");

        var warning = Assert.Single(app.Events(), IsRepeatedQuery);
        Assert.Equal("Warning", warning.Level());
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal(25, warning.GetProperty("Count").GetInt32());
        Assert.Equal("/loop/{count:int}", warning.Str("Route"));
        Assert.Equal("sqlite", warning.Str("DbSystem"));
        Assert.Equal(10, warning.GetProperty("RepeatedQueryThreshold").GetInt32());
        Assert.Equal(1302, warning.GetProperty("EventId").GetProperty("Id").GetInt32());
        var text = warning.Str("CommandText")!;
        Assert.StartsWith("SELECT \"r\".\"Id\", \"r\".\"Name\"", text, StringComparison.Ordinal);
        Assert.Contains("= @", text, StringComparison.Ordinal);

        // Written once, at the end of the request: before its completion event.
        var events = app.Events().ToList();
        Assert.True(events.FindIndex(IsRepeatedQuery) < events.FindIndex(e => e.IsCompletion() && e.Str("RequestId") == id));
        Assert.Equal(25, (await app.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());

        var samples = await app.ScrapeAsync();
        Assert.Equal(1, samples.Value("db_repeated_queries_total", ("endpoint", "/loop/{count:int}")));
        Assert.Equal(2, samples.Value("http_request_db_commands_count", ("endpoint", "/loop/{count:int}")));
        Assert.Equal(28, samples.Value("http_request_db_commands_sum", ("endpoint", "/loop/{count:int}")));
    }

    [Fact]
    public async Task Commands_with_different_inlined_literals_count_as_one_repeated_shape()
    {
        await using var app = await StartAsync();

        await app.GetAsync("/inlined/12");

        var warning = Assert.Single(app.Events(), IsRepeatedQuery);
        Assert.Equal(12, warning.GetProperty("Count").GetInt32());
        Assert.Equal("SELECT Name FROM Rows WHERE Id = ? AND Name <> ?", warning.Str("CommandText"));
    }

    [Theory]
    [InlineData("10", 9)]
    [InlineData("0", 25)]
    public async Task Repetitions_below_the_threshold_or_with_detection_off_write_nothing(string threshold, int lookups)
    {
        await using var app = await StartAsync(new() { ["Observability:SlowQueries:RepeatedQueryThreshold"] = threshold });

        var id = await app.GetAsync($"/loop/{lookups}");

        Assert.DoesNotContain(app.Events(), IsRepeatedQuery);
        Assert.Equal(lookups, (await app.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());
        Assert.Equal(0, (await app.ScrapeAsync()).Value("db_repeated_queries_total"));
    }

    [Fact]
    public async Task Threshold_zero_turns_the_warning_off_but_still_times_every_command()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowQueries:ThresholdMs"] = "0" });

        var id = await app.GetAsync("/sleep/200");

        Assert.DoesNotContain(app.Events(), IsSlowQuery);
        Assert.Equal(1, (await app.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());
        var samples = await app.ScrapeAsync();
        Assert.Equal(0, samples.Value("db_slow_queries_total"));
        Assert.True(samples.Value("db_query_duration_seconds_count", ("db_system", "sqlite")) >= 1);
    }

    [Fact]
    public async Task With_metrics_off_commands_are_still_timed_and_reported()
    {
        await using var app = await StartAsync(new() { ["Observability:Metrics:Enabled"] = "false" });

        var id = await app.GetAsync("/sleep/200");

        Assert.Equal(id, Assert.Single(app.Events(), IsSlowQuery).Str("RequestId"));
        Assert.Equal(1, (await app.CompletionEventAsync(id)).GetProperty("DbCommands").GetInt32());
    }

    [Fact]
    public async Task Command_outside_any_request_is_reported_without_a_request_id()
    {
        await using var app = await StartAsync();

        await using (var scope = app.App.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RowsContext>().Database.ExecuteSqlAsync($"SELECT sleep(200)");
        }

        var warning = Assert.Single(app.Events(), IsSlowQuery);
        Assert.False(warning.Has("RequestId"));
        Assert.Equal("SELECT sleep(?)", warning.Str("CommandText"));
    }

    [Fact]
    public async Task Redaction_can_be_turned_off_for_literals_but_parameters_stay_out()
    {
        await using var app = await StartAsync(new()
        {
            ["Observability:SlowQueries:RedactLiterals"] = "false",
            ["Observability:SlowQueries:RepeatedQueryThreshold"] = "2",
        });

        await app.GetAsync("/inlined/2");
        await app.GetAsync("/sleep/200");

        // The first run's text, literals and all: what the operator asked for.
        Assert.Equal("SELECT Name FROM Rows WHERE Id = 1 AND Name <> 'it''s'", Assert.Single(app.Events(), IsRepeatedQuery).Str("CommandText"));
        Assert.Equal("SELECT sleep(@p0), @p1", Assert.Single(app.Events(), IsSlowQuery).Str("CommandText"));
    }

    [Fact]
    public async Task Warnings_beyond_the_per_second_budget_are_summarised()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowQueries:MaxWarningsPerSecond"] = "1" });
        var monitor = app.App.Services.GetRequiredService<SlowQueryMonitor>();

        // Two takes in the same second: the budget boundary is a wall-clock second, so retry across one.
        var attempts = 0;
        bool first, second;
        do
        {
            await Task.Delay(attempts++ == 0 ? 0 : 1100);
            first = monitor.TryTakeWarning();
            second = monitor.TryTakeWarning();
        }
        while (!(first && !second) && attempts < 3);

        Assert.True(first);
        Assert.False(second);
        monitor.Tick();
        var summary = Assert.Single(app.Events(), e => e.Str("@mt")?.Contains("Suppressed", StringComparison.Ordinal) == true);
        Assert.True(summary.GetProperty("SuppressedCount").GetInt32() >= 1);
        Assert.Equal(1303, summary.GetProperty("EventId").GetProperty("Id").GetInt32());
    }
}
