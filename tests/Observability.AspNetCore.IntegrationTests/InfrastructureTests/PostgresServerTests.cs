using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class PostgresServerTests
{
    [Fact]
    public async Task Postgres_server_refuses_connections_when_stopped_and_comes_back_after_StartAgain()
    {
        // Its own instance: stopping the shared one would break the other tests.
        await using var server = await PostgresServer.StartAsync(password: "s3cret-Pa55");
        Assert.Equal("s3cret-Pa55", server.Password);
        await server.ExecuteAsync("CREATE TABLE survives (id int); INSERT INTO survives VALUES (42)");
        var port = server.Port;

        await server.StopAsync();
        Assert.False(server.IsRunning);
        var unpooled = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(unpooled))
        {
            // Connection refused surfaces as NpgsqlException (a SocketException inside).
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
        }

        await server.StartAgainAsync();
        Assert.Equal(port, server.Port);
        Assert.Equal(42, await server.ExecuteScalarAsync<int>("SELECT id FROM survives"));
    }

    [Fact]
    public async Task Postgres_server_dispose_stops_the_server_and_deletes_its_directory()
    {
        var server = await PostgresServer.StartAsync();
        var dataDirectory = server.DataDirectory;
        var unpooled = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Pooling = false }.ConnectionString;
        Assert.Equal(1, await server.ExecuteScalarAsync<int>("SELECT 1"));

        await server.DisposeAsync();

        Assert.False(Directory.Exists(dataDirectory));
        await using var connection = new NpgsqlConnection(unpooled);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
    }

    [Fact]
    public void Postgres_binaries_are_found_under_the_newest_installed_major_version()
    {
        var bin = PostgresServer.FindBinDirectory();
        Assert.True(File.Exists(Path.Combine(bin, "initdb")), bin);
        Assert.True(File.Exists(Path.Combine(bin, "pg_ctl")), bin);
    }
}
