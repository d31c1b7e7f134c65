using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Observability.SampleApi.Cache;

namespace Observability.SampleApi.Endpoints;

/// <summary><c>/api/cache/{key}</c>: read-through cache on Redis or in memory.</summary>
internal static partial class CacheEndpoints
{
    private const int KeyMaxLength = 200;

    // Short, so a miss is easy to see again when trying the endpoint by hand.
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);

    public static void MapCache(this IEndpointRouteBuilder api) => api.MapGet("/cache/{key}", GetAsync);

    private static async Task<Results<Ok<CacheEntry>, ValidationProblem, ProblemHttpResult>> GetAsync(
        string key,
        ICacheStore cache,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        if (key.Length > KeyMaxLength)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                ["key"] = [$"The key must be at most {KeyMaxLength} characters long."],
            });
        }

        try
        {
            var cached = await cache.GetAsync(key, cancellationToken);
            if (cached is not null)
            {
                return TypedResults.Ok(new CacheEntry(key, cached, cache.Source, Hit: true));
            }

            var value = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            await cache.SetAsync(key, value, TimeToLive, cancellationToken);
            return TypedResults.Ok(new CacheEntry(key, value, cache.Source, Hit: false));
        }
        catch (CacheUnavailableException ex)
        {
            // The 503 alone would not say why; the cause goes to the log, not to the client.
            LogCacheUnavailable(loggerFactory.CreateLogger(typeof(CacheEndpoints)), ex, cache.Source);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The cache is unavailable.",
                detail: "The cache did not answer in time. Try again later.");
        }
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Cache {CacheSource} is unavailable")]
    private static partial void LogCacheUnavailable(ILogger logger, Exception exception, string cacheSource);

    internal sealed record CacheEntry(string Key, string Value, string Source, bool Hit);
}
