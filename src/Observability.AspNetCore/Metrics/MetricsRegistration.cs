using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Metrics.Bridge;
using Observability.AspNetCore.Metrics.Runtime;

namespace Observability.AspNetCore.Metrics;

/// <summary>The metrics feature's services (called by <c>AddObservability</c>) and endpoint (called by <c>UseObservability</c>).</summary>
internal static class MetricsRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, MetricsOptionsValidator>());
        services.TryAddSingleton<RequestMetrics>();
        services.TryAddSingleton<MetricsAllowList>();
        services.TryAddSingleton(static sp => HostMeterBridge.Create(
            sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value.Metrics, sp.GetRequiredService<MetricsRegistry>(), sp.GetRequiredService<IMeterFactory>()));
    }

    /// <summary>The runtime families, served from the registry's creation on (called by the registry's factory).</summary>
    public static void AddRuntimeMetrics(MetricsRegistry registry, ServiceIdentity identity) =>
        RuntimeMetrics.Register(registry.Families, identity.Name, identity.Version, identity.Environment);

    public static void Map(IEndpointRouteBuilder endpoints, ObservabilityOptions options)
    {
        if (!options.Metrics.Enabled)
        {
            return;
        }

        // The bridge listens from startup, not from the first scrape: measurements made before it count too.
        _ = endpoints.ServiceProvider.GetRequiredService<MeterBridge>();
        endpoints.MapMethods(options.Metrics.Path, ObservabilityEndpointMetadata.Methods, MetricsEndpoint.HandleAsync)
            .WithMetadata(ObservabilityEndpointMetadata.Instance)
            .WithDisplayName("Observability metrics")
            .WithMetadata(new ExcludeFromDescriptionAttribute());
    }
}
