using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Metrics.Bridge;

namespace Observability.AspNetCore.Metrics;

/// <summary>The metrics feature's endpoint (called by <c>UseObservability</c>).</summary>
internal static class MetricsRegistration
{
    public static void Map(IEndpointRouteBuilder endpoints, ObservabilityOptions options)
    {
        if (!options.Metrics.Enabled)
        {
            return;
        }

        // The bridge listens from startup, not from the first scrape: measurements made before it count too.
        _ = endpoints.ServiceProvider.GetRequiredService<MeterBridge>();
        endpoints.MapGet(options.Metrics.Path, MetricsEndpoint.HandleAsync)
            .WithMetadata(ObservabilityEndpointMetadata.Instance)
            .WithDisplayName("Observability metrics")
            .WithMetadata(new ExcludeFromDescriptionAttribute());
    }
}
