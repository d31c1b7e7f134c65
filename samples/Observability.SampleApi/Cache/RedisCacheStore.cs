using StackExchange.Redis;

namespace Observability.SampleApi.Cache;

/// <summary>
/// The cache on Redis (<see cref="SampleRedis"/>): every call is bounded, so a down or hanging Redis costs a request a
/// fast 503, never a hang.
/// </summary>
internal sealed class RedisCacheStore(SampleRedis redis) : ICacheStore
{
    private const string KeyPrefix = "sample-api:";

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

    private async Task<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await redis.DatabaseAsync(cancellationToken) ?? throw new CacheUnavailableException("Redis is not connected.");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheUnavailableException($"Redis did not answer: {ex.Message}", ex);
        }
    }

    private static async Task<T> Bounded<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(SampleRedis.CallTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheUnavailableException($"Redis did not answer: {ex.Message}", ex);
        }
    }
}
