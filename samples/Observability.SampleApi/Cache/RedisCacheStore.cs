using StackExchange.Redis;

namespace Observability.SampleApi.Cache;

/// <summary>
/// The cache on Redis. Connects on first use, not at startup, so the app starts (and serves everything else) while
/// Redis is down; every call is bounded, so a down or hanging Redis costs a request a fast 503, never a hang.
/// </summary>
internal sealed class RedisCacheStore : ICacheStore, IAsyncDisposable
{
    private const string KeyPrefix = "sample-api:";
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public RedisCacheStore(string connectionString)
    {
        // Parsed now, so a malformed connection string is a configuration error (500), not an outage (503).
        var options = ConfigurationOptions.Parse(connectionString);

        // Keep retrying in the background instead of failing for good when Redis is down at the first attempt, and keep
        // each attempt and command short: a request waits on them.
        options.AbortOnConnectFail = false;
        options.ConnectRetry = 1;
        options.ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds;
        options.AsyncTimeout = (int)CallTimeout.TotalMilliseconds;
        options.SyncTimeout = (int)CallTimeout.TotalMilliseconds;
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(options));
    }

    public string Source => "redis";

    public async Task<string?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var database = await GetDatabaseAsync(cancellationToken);
        var value = await Bounded(database.StringGetAsync(KeyPrefix + key), cancellationToken);
        return value.HasValue ? value.ToString() : null;
    }

    public async Task SetAsync(string key, string value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var database = await GetDatabaseAsync(cancellationToken);
        await Bounded(database.StringSetAsync(KeyPrefix + key, value, timeToLive), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync();
        }
    }

    private async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        // Only the first caller waits for a connect attempt; later ones find out from IsConnected at once.
        var connection = await Bounded(_connection.Value, cancellationToken, ConnectTimeout + CallTimeout);
        if (!connection.IsConnected)
        {
            throw new CacheUnavailableException("Redis is not connected.");
        }

        return connection.GetDatabase();
    }

    private static async Task<T> Bounded<T>(Task<T> call, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        try
        {
            return await call.WaitAsync(timeout ?? CallTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheUnavailableException($"Redis did not answer: {ex.Message}", ex);
        }
    }
}
