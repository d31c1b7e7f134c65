using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.Metrics;

/// <summary>
/// The scrape endpoint: the host's registry, then prometheus-net's default registry (the app's own metrics), as one
/// document in the format the scraper asked for: OpenMetrics (the only one that carries exemplars) or the classic text.
/// </summary>
internal static class MetricsEndpoint
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private const string OpenMetricsMediaType = "application/openmetrics-text";

    public static async Task HandleAsync(HttpContext context)
    {
        var services = context.RequestServices;
        if (!services.GetRequiredService<MetricsAllowList>().IsAllowed(context.Connection.RemoteIpAddress))
        {
            // 404, not 403: a caller outside the allowed networks learns nothing about what is served here.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var openMetrics = PrefersOpenMetrics(context.Request.Headers.Accept);
        context.Response.ContentType = openMetrics ? OpenMetricsContentType : ContentType;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Vary = "Accept";
        var registry = services.GetRequiredService<MetricsRegistry>().Registry;
        var body = context.Response.Body;
        var cancel = context.RequestAborted;
        if (!openMetrics)
        {
            await registry.CollectAndExportAsTextAsync(body, cancel);
            await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(body, cancel);
            return;
        }

        // An OpenMetrics document has one "# EOF", at its end: the first registry's is held back and dropped, the
        // second registry's ends the document.
        await using (var withoutEof = new EofDroppingStream(body))
        {
            await registry.CollectAndExportAsTextAsync(withoutEof, ExpositionFormat.OpenMetricsText, cancel);
        }

        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(body, ExpositionFormat.OpenMetricsText, cancel);
    }

    /// <summary>
    /// True when the Accept header ranks <c>application/openmetrics-text</c> (any version) above zero and at least as
    /// high as <c>text/plain</c>; wildcards do not compete with it (the more specific type wins, RFC 9110 §12.5.1).
    /// Prometheus 2.x sends OpenMetrics at q=1 and text/plain at q=0.5; no Accept header means the classic text.
    /// </summary>
    internal static bool PrefersOpenMetrics(StringValues accept)
    {
        double openMetrics = 0, text = -1;
        foreach (var value in accept)
        {
            if (value is null || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParseList([value], out var types))
            {
                continue;
            }

            foreach (var type in types)
            {
                var quality = type.Quality ?? 1;
                if (type.MediaType.Equals(OpenMetricsMediaType, StringComparison.OrdinalIgnoreCase))
                {
                    openMetrics = Math.Max(openMetrics, quality);
                }
                else if (type.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
                {
                    text = Math.Max(text, quality);
                }
            }
        }

        return openMetrics > 0 && openMetrics >= text;
    }
}
