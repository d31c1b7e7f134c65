using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Observability.AspNetCore.Metrics;

/// <summary>The scrape endpoint: the host's registry, then prometheus-net's default registry (the app's own metrics).</summary>
internal static class MetricsEndpoint
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static async Task HandleAsync(HttpContext context)
    {
        var metrics = context.RequestServices.GetRequiredService<RequestMetrics>();
        if (!metrics.IsAllowed(context.Connection.RemoteIpAddress))
        {
            // 404, not 403: a caller outside the allowed networks learns nothing about what is served here.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }
}
