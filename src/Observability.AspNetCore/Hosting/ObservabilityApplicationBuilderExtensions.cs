using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Observability.AspNetCore;
using Observability.AspNetCore.Health;
using Observability.AspNetCore.Metrics;
using Observability.AspNetCore.Pipeline;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Observability.AspNetCore to the request pipeline.</summary>
public static class ObservabilityApplicationBuilderExtensions
{
    private const string UsedKey = "Observability.AspNetCore.UseObservability";

    /// <summary>
    /// Adds the observability middleware. Call it first after <c>Build()</c> (after <c>UseForwardedHeaders()</c> when the
    /// app runs behind a reverse proxy, so <c>ClientIp</c> is the real client), so that every response, including those
    /// other middleware short-circuit, carries the request ID and is logged.
    /// </summary>
    /// <typeparam name="TApp">The application builder, e.g. <c>WebApplication</c>.</typeparam>
    /// <param name="app">The application builder.</param>
    /// <returns>The same application builder.</returns>
    /// <exception cref="InvalidOperationException"><c>AddObservability()</c> was not called, or this method was called twice.</exception>
    public static TApp UseObservability<TApp>(this TApp app)
        where TApp : IApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<ObservabilityMarker>() is null)
        {
            throw new InvalidOperationException(
                "UseObservability() needs the services that AddObservability() registers. Call builder.AddObservability() before builder.Build().");
        }

        if (app.Properties.ContainsKey(UsedKey))
        {
            throw new InvalidOperationException(
                "UseObservability() was called twice. Call it once, as the first middleware after Build() (after UseForwardedHeaders() behind a proxy).");
        }

        app.Properties[UsedKey] = true;
        app.UseMiddleware<ObservabilityMiddleware>();

        var options = app.ApplicationServices.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        if (app is IEndpointRouteBuilder endpoints)
        {
            MapEndpoints(endpoints, options);
        }
        else
        {
            // Startup-style apps: route the library's endpoints here; the app's own UseRouting() later matches its own.
            app.UseRouting();
            app.UseEndpoints(e => MapEndpoints(e, options));
        }

        return app;
    }

    private static void MapEndpoints(IEndpointRouteBuilder endpoints, ObservabilityOptions options)
    {
        MetricsRegistration.Map(endpoints, options);
        HealthRegistration.Map(endpoints, options);
    }
}
