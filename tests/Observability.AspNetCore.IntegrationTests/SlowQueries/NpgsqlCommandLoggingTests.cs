using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.SlowQueries;

/// <summary>
/// An app that registers its data source with <c>AddNpgsqlDataSource</c> (as the README recommends, so the health check
/// shares the pool) hands Npgsql the app's logger factory; Npgsql then logs every command with its SQL at Information.
/// The slow-query events report the commands that matter, redacted; raw command lines are opt-in.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class NpgsqlCommandLoggingTests(ServersFixture servers)
{
    private const string Literal = "card-4111-1111-1111-1111";

    private async Task<QueryHost> StartAsync(IDictionary<string, string?>? configuration = null)
    {
        var name = "npgsqllog_" + Guid.NewGuid().ToString("N")[..12];
        await servers.Postgres.CreateDatabaseAsync(name);
        var connectionString = new NpgsqlConnectionStringBuilder(servers.Postgres.ConnectionString) { Database = name }.ConnectionString;
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Observability:Health:Postgres:ConnectionStringName"] = "Postgres",
        };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return await QueryHost.StartAsync(
            b => b.Services.AddNpgsqlDataSource(connectionString),
            app => app.MapGet("/raw/literal", async (NpgsqlDataSource dataSource, CancellationToken ct) =>
            {
                // Literals written into the SQL, as hand-built or Dapper-style code often does.
                await using var command = dataSource.CreateCommand($"SELECT '{Literal}'");
                return (string?)await command.ExecuteScalarAsync(ct);
            }),
            settings);
    }

    [Fact]
    public async Task Commands_through_an_AddNpgsqlDataSource_pool_write_no_information_line_by_default()
    {
        await using var host = await StartAsync();

        var id = await host.GetAsync("/raw/literal");
        using var ready = await host.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await host.CompletionEventAsync(id);

        Assert.DoesNotContain(host.Events(), e => e.Str("SourceContext")?.StartsWith("Npgsql", StringComparison.Ordinal) ?? false);
        Assert.DoesNotContain(Literal, host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("SELECT 1", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_lines_can_be_turned_back_on_with_a_serilog_override()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Override:Npgsql.Command"] = "Information",
        });

        var id = await host.GetAsync("/raw/literal");
        await host.CompletionEventAsync(id);

        Assert.Contains(host.Events(), e => e.Str("SourceContext") == "Npgsql.Command" && e.Level() == "Information"
            && (e.Str("CommandText")?.Contains(Literal, StringComparison.Ordinal) ?? false));
    }
}
