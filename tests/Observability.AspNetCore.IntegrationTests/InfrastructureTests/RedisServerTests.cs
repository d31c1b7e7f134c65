using Observability.AspNetCore.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class RedisServerTests
{
    [Fact]
    public async Task Redis_server_with_a_password_stops_and_starts_again_on_the_same_port()
    {
        await using var server = await RedisServer.StartAsync(password: "redis-pa55");
        Assert.Contains("password=redis-pa55", server.ConnectionString, StringComparison.Ordinal);
        await AssertPingsAsync(server.ConnectionString);

        // Without the password the server refuses commands: requirepass really is on.
        // (StackExchange.Redis 3.x queues commands in a backlog while it has no usable connection and fails
        // them only after the sync/async timeout, 5 s by default; 1 s keeps this test short.)
        await using (var anonymous = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},abortConnect=false,connectTimeout=2000,asyncTimeout=1000,syncTimeout=1000"))
        {
            await Assert.ThrowsAnyAsync<RedisException>(() => anonymous.GetDatabase().PingAsync());
        }

        var port = server.Port;
        await server.StopAsync();
        Assert.False(server.IsRunning);
        Assert.False(await server.PingAsync());
        await using (var whileDown = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",asyncTimeout=1000,syncTimeout=1000"))
        {
            Assert.False(whileDown.IsConnected);
            await Assert.ThrowsAnyAsync<RedisException>(() => whileDown.GetDatabase().PingAsync());
        }

        await server.StartAgainAsync();
        Assert.Equal(port, server.Port);
        Assert.True(await server.PingAsync());
        await AssertPingsAsync(server.ConnectionString);
    }

    private static async Task AssertPingsAsync(string connectionString)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
        Assert.True(redis.IsConnected);
        await redis.GetDatabase().PingAsync();
    }
}
