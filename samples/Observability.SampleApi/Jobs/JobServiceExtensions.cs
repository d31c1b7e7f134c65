using Observability.SampleApi.Cache;

namespace Observability.SampleApi.Jobs;

/// <summary>Registers the sample's job queue and worker.</summary>
internal static class JobServiceExtensions
{
    /// <summary>A Redis list when <c>ConnectionStrings:Redis</c> is set, in process otherwise; nothing connects here.</summary>
    public static IHostApplicationBuilder AddSampleJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ISampleJobQueue>(static services => CacheServiceExtensions.IsRedisConfigured(services)
            ? new RedisJobQueue(services.GetRequiredService<SampleRedis>())
            : new InMemoryJobQueue());
        builder.Services.AddHostedService<JobWorker>();
        return builder;
    }
}
