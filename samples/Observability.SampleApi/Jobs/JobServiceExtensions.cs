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

        // On demand only: a hosted service that dies while the host, told to ignore it, runs on.
        if (builder.Configuration.GetValue<int?>("Sample:FaultingServiceAfterMs") is { } afterMs)
        {
            builder.Services.Configure<HostOptions>(static o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
            builder.Services.AddHostedService(_ => new FaultingService(afterMs));
        }

        return builder;
    }
}
