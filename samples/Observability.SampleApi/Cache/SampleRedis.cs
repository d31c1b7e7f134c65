using StackExchange.Redis;

namespace Observability.SampleApi.Cache;

/// <summary>
/// The sample's one Redis connection, shared by the cache and the job queue. Connects on first use, not at startup, so
/// the app starts (and serves everything else) while Redis is down, and keeps retrying in the background; every
/// attempt and command is short, because a request or the worker waits on it.
/// </summary>
internal sealed class SampleRedis : IAsyncDisposable
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public SampleRedis(string connectionString)
    {
        // Parsed now, so a malformed connection string is a configuration error (500), not an outage (503).
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ConnectRetry = 1;
        options.ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds;
        options.AsyncTimeout = (int)CallTimeout.TotalMilliseconds;
        options.SyncTimeout = (int)CallTimeout.TotalMilliseconds;
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(options));
    }

    /// <summary>The database, or null when Redis is not connected; waits at most for one connect attempt.</summary>
    /// <exception cref="TimeoutException">The first connect attempt did not finish in time.</exception>
    public async Task<IDatabase?> DatabaseAsync(CancellationToken cancellationToken)
    {
        // Only the first caller waits for a connect attempt; later ones find out from IsConnected at once.
        var connection = await _connection.Value.WaitAsync(ConnectTimeout + CallTimeout, cancellationToken);
        return connection.IsConnected ? connection.GetDatabase() : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync();
        }
    }
}
