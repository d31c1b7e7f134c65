using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.SlowQueries;

/// <summary>
/// Alone in the process: a raw Npgsql command outside any request is reported when the process runs one host (as an
/// app does), and left out when several run (nothing tells which one it belongs to), so no other test's host may be
/// running; this collection runs after the parallel ones, with a PostgreSQL of its own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SlowQueriesSoloCollection
{
    public const string Name = "SlowQueries.Solo";
}

[Collection(SlowQueriesSoloCollection.Name)]
public sealed class OutsideRequestSlowQueryTests : IAsyncLifetime
{
    private PostgresServer? _postgres;

    public async Task InitializeAsync() => _postgres = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [Fact]
    public async Task Raw_Npgsql_slow_command_outside_any_request_is_reported_without_a_request_id()
    {
        var connectionString = _postgres!.ConnectionString;
        await using var host = await QueryHost.StartAsync(
            b => b.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString)),
            _ => { });

        // What a background job does: the app's data source, no HTTP request anywhere.
        var dataSource = host.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var command = dataSource.CreateCommand("SELECT pg_sleep(0.3), 'outside'"))
        {
            await command.ExecuteScalarAsync();
        }

        var warning = Assert.Single(host.Events(), e => e.IsSlowQuery());
        Assert.False(warning.Has("RequestId"));
        Assert.Equal("postgresql", warning.Str("DbSystem"));
        Assert.Equal("SELECT pg_sleep(?), ?", warning.Str("CommandText"));
    }
}
