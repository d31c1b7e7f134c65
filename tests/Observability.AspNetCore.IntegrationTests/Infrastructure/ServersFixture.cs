namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// One PostgreSQL and one Redis shared by every test class in the "Servers" collection.
/// </summary>
/// <remarks>
/// Starting a cluster per test would be wasteful; sharing one per collection keeps the suite fast.
/// Tests must therefore not stop these shared servers or depend on global state in them (create your
/// own database with <see cref="PostgresServer.CreateDatabaseAsync"/>, use unique Redis keys).
/// Fault tests (stop/restart/hang) start their own extra instances instead.
/// </remarks>
public sealed class ServersFixture : IAsyncLifetime
{
    private PostgresServer? _postgres;
    private RedisServer? _redis;

    /// <summary>The shared PostgreSQL server (password-protected, random password).</summary>
    public PostgresServer Postgres => _postgres ?? throw new InvalidOperationException("The fixture has not been initialized.");

    /// <summary>The shared Redis server (no password).</summary>
    public RedisServer Redis => _redis ?? throw new InvalidOperationException("The fixture has not been initialized.");

    public async Task InitializeAsync()
    {
        // Bounded so a broken machine fails the collection in a minute instead of hanging it.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        // Start both at once; they are independent and this halves the fixture's start-up time.
        var postgres = PostgresServer.StartAsync(cancellationToken: cts.Token);
        var redis = RedisServer.StartAsync(cancellationToken: cts.Token);
        try
        {
            await Task.WhenAll(postgres, redis);
        }
        catch
        {
            // Whichever one did start must not be leaked when the other failed.
            if (postgres.IsCompletedSuccessfully)
            {
                await postgres.Result.DisposeAsync();
            }

            if (redis.IsCompletedSuccessfully)
            {
                await redis.Result.DisposeAsync();
            }

            throw;
        }

        _postgres = postgres.Result;
        _redis = redis.Result;
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}

/// <summary>Put <c>[Collection("Servers")]</c> on a test class to get the shared <see cref="ServersFixture"/> injected.</summary>
[CollectionDefinition("Servers")]
public sealed class ServersCollection : ICollectionFixture<ServersFixture>
{
    /// <summary>The collection name, for <c>[Collection(ServersCollection.Name)]</c>.</summary>
    public const string Name = "Servers";
}
