using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

/// <summary>The collection fixture really provides a working PostgreSQL and Redis.</summary>
[Collection(ServersCollection.Name)]
public sealed class SharedServersTests(ServersFixture servers)
{
    [Fact]
    public async Task Shared_postgres_answers_SELECT_1_with_its_password_and_rejects_a_wrong_one()
    {
        await using (var connection = new NpgsqlConnection(servers.Postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }

        var wrong = new NpgsqlConnectionStringBuilder(servers.Postgres.ConnectionString) { Password = "not-the-password", Pooling = false };
        await using var rejected = new NpgsqlConnection(wrong.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => rejected.OpenAsync());

        // 28P01 = invalid_password: proves scram-sha-256 is enforced on TCP, not "trust".
        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    [Fact]
    public async Task Shared_postgres_creates_a_database_that_ConnectionStringFor_reaches()
    {
        var name = $"smoke_{Guid.NewGuid():N}";
        await servers.Postgres.CreateDatabaseAsync(name);

        await using var connection = new NpgsqlConnection(servers.Postgres.ConnectionStringFor(name));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);
        Assert.Equal(name, await command.ExecuteScalarAsync());

        Assert.Equal("UTF8", await servers.Postgres.ExecuteScalarAsync<string>("SHOW server_encoding"));
    }

    [Fact]
    public async Task Shared_redis_answers_PING_and_stores_a_value_through_StackExchange_Redis()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString);
        var database = redis.GetDatabase();
        Assert.True(await database.PingAsync() < TimeSpan.FromSeconds(2));

        var key = $"smoke:{Guid.NewGuid():N}";
        await database.StringSetAsync(key, "value", TimeSpan.FromMinutes(1));
        Assert.Equal("value", (string?)await database.StringGetAsync(key));
    }
}
