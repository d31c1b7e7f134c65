namespace Observability.SampleApi.Cache;

/// <summary>A string cache: Redis when <c>ConnectionStrings:Redis</c> is set, process memory otherwise.</summary>
internal interface ICacheStore
{
    /// <summary>Where values live, as the API reports it: <c>redis</c> or <c>memory</c>.</summary>
    string Source { get; }

    /// <summary>The cached value, or null on a miss.</summary>
    /// <exception cref="CacheUnavailableException">The cache cannot be reached in time.</exception>
    Task<string?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> for <paramref name="timeToLive"/>.</summary>
    /// <exception cref="CacheUnavailableException">The cache cannot be reached in time.</exception>
    Task SetAsync(string key, string value, TimeSpan timeToLive, CancellationToken cancellationToken);
}
