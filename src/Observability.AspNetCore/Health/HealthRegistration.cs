using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Health;

/// <summary>The health feature's services (called by <c>AddObservability</c>) and endpoints (called by <c>UseObservability</c>).</summary>
internal static class HealthRegistration
{
    public static void Add(IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        // The app's own AddHealthChecks().AddCheck(...) calls add to the same HealthCheckServiceOptions.
        services.AddHealthChecks();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, HealthOptionsValidator>());

        // The dependency checks are added when the registrations are first read, from the final options: configuration
        // added after AddObservability (a test host's, a PostConfigure in the app) still decides whether they exist.
        services.AddOptions<HealthCheckServiceOptions>().Configure<IOptions<ObservabilityOptions>>(static (registrations, observability) =>
        {
            var health = observability.Value.Health;
            if (!health.Enabled)
            {
                return;
            }

            if (health.Postgres.IsConfigured)
            {
                registrations.Registrations.Add(new HealthCheckRegistration(
                    PostgresHealthCheck.Name,
                    static sp => sp.GetRequiredService<PostgresHealthCheck>(),
                    HealthStatus.Unhealthy,
                    [HealthOptions.ReadyTag],
                    TimeSpan.FromMilliseconds(health.Postgres.TimeoutMs ?? health.TimeoutMs)));
            }

            if (health.Redis.IsConfigured)
            {
                registrations.Registrations.Add(new HealthCheckRegistration(
                    RedisHealthCheck.Name,
                    static sp => sp.GetRequiredService<RedisHealthCheck>(),
                    HealthStatus.Unhealthy,
                    [HealthOptions.ReadyTag],
                    TimeSpan.FromMilliseconds(health.Redis.TimeoutMs ?? health.TimeoutMs)));
            }
        });

        services.TryAddSingleton<PostgresDataSourceProvider>();
        services.TryAddSingleton<PostgresHealthCheck>();
        services.TryAddSingleton<RedisConnectionProvider>();
        services.TryAddSingleton<RedisHealthCheck>();
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<ObservabilityOptions>>();
            return new HealthCheckRunner(
                sp.GetRequiredService<HealthCheckService>(),
                sp.GetRequiredService<IOptions<HealthCheckServiceOptions>>(),
                options,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<HealthCheckRunner>>(),
                sp.GetRequiredService<MetricsRegistry>() is { Enabled: true } registry ? new HealthCheckMetrics(registry.Families) : null,
                sp.GetService<WorkerRegistry>());
        });

        // Hosted: the lifecycle must subscribe to the host's lifetime before it starts, the sampler ticks from the start.
        services.TryAddSingleton<HealthLifecycle>();
        services.AddHostedService(static sp => sp.GetRequiredService<HealthLifecycle>());
        services.TryAddSingleton<SystemSampler>();
        services.AddHostedService(static sp => sp.GetRequiredService<SystemSampler>());
        services.AddHostedService<HealthMetricsPublisher>();
    }

    public static void Map(IEndpointRouteBuilder endpoints, ObservabilityOptions options)
    {
        var health = options.Health;
        if (!health.Enabled)
        {
            return;
        }

        var services = endpoints.ServiceProvider;
        HealthOptionsValidator.EnsurePolicy(health.Detailed, services);
        var handlers = new HealthEndpoints(services);
        var basePath = BasePath(health.Path);
        Map(endpoints, basePath.Length == 0 ? "/" : basePath, "Observability health", handlers.BasicAsync);
        Map(endpoints, basePath + "/live", "Observability health: live", handlers.LiveAsync);
        Map(endpoints, basePath + "/ready", "Observability health: ready", handlers.ReadyAsync);
        Map(endpoints, basePath + "/detailed", "Observability health: detailed", handlers.DetailedAsync);
    }

    /// <summary>The configured path without a trailing slash (<c>/</c> becomes empty, so the sub-paths are <c>/live</c>, ...).</summary>
    internal static string BasePath(string path) => path.TrimEnd('/');

    private static void Map(IEndpointRouteBuilder endpoints, string pattern, string name, RequestDelegate handler) =>
        endpoints.MapMethods(pattern, ObservabilityEndpointMetadata.Methods, handler)
            .WithMetadata(ObservabilityEndpointMetadata.Instance)
            .WithDisplayName(name)
            .WithMetadata(new ExcludeFromDescriptionAttribute());
}
