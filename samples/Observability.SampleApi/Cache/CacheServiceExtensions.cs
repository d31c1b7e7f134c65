using Microsoft.Extensions.Caching.Memory;
using Observability.AspNetCore;

namespace Observability.SampleApi.Cache;

/// <summary>Registers the sample's cache.</summary>
internal static class CacheServiceExtensions
{
    public const string RedisConnectionStringName = "Redis";

    /// <summary>Redis when <c>ConnectionStrings:Redis</c> is set, in-memory otherwise. Nothing connects here.</summary>
    public static IHostApplicationBuilder AddSampleCache(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMemoryCache();

        // Decided on first use, not now, so that configuration a test host adds later is seen (as for the database).
        builder.Services.AddSingleton(static services =>
            new SampleRedis(services.GetRequiredService<IConfiguration>().GetConnectionString(RedisConnectionStringName)!));
        builder.Services.AddSingleton<ICacheStore>(static services => IsRedisConfigured(services)
            ? new RedisCacheStore(services.GetRequiredService<SampleRedis>())
            : new MemoryCacheStore(services.GetRequiredService<IMemoryCache>()));

        // The redis health check is on exactly when the cache is on Redis.
        builder.Services.AddOptions<ObservabilityOptions>().PostConfigure<IConfiguration>(static (options, configuration) =>
        {
            var redis = options.Health.Redis;
            if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString(RedisConnectionStringName))
                && string.IsNullOrWhiteSpace(redis.ConnectionStringName)
                && string.IsNullOrWhiteSpace(redis.ConnectionString))
            {
                redis.ConnectionStringName = RedisConnectionStringName;
            }
        });
        return builder;
    }

    /// <summary>Whether <c>ConnectionStrings:Redis</c> is set: the cache and the job queue are then on Redis.</summary>
    public static bool IsRedisConfigured(IServiceProvider services) =>
        !string.IsNullOrWhiteSpace(services.GetRequiredService<IConfiguration>().GetConnectionString(RedisConnectionStringName));
}
