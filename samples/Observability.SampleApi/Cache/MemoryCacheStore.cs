using Microsoft.Extensions.Caching.Memory;

namespace Observability.SampleApi.Cache;

/// <summary>The cache when no Redis is configured: per process, never unavailable.</summary>
internal sealed class MemoryCacheStore(IMemoryCache cache) : ICacheStore
{
    public string Source => "memory";

    public Task<string?> GetAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(cache.TryGetValue(key, out string? value) ? value : null);

    public Task SetAsync(string key, string value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        cache.Set(key, value, timeToLive);
        return Task.CompletedTask;
    }
}
