using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Health;

namespace Observability.AspNetCore.Hosting;

/// <summary>
/// The checks that need the app's endpoints: a library path another endpoint also answers (an
/// <c>AmbiguousMatchException</c>, a 500, at its first request) and <c>SlowRequests:Routes</c> entries that match no
/// endpoint (silently ignored). A startup filter, because it runs while the server starts, after the whole pipeline
/// (every <c>Map...</c> and <c>UseEndpoints</c>) is built and before the server accepts a connection; a hosted service
/// may start before a minimal-API app's endpoints reach the routing data source.
/// </summary>
internal sealed class EndpointConfigurationCheck(IOptions<ObservabilityOptions> options) : IStartupFilter
{
    private const int MaxTemplatesShown = 10;

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);
        if (app.ApplicationServices.GetService<EndpointDataSource>() is { } dataSource)
        {
            var errors = Check(options.Value, dataSource.Endpoints);
            if (errors.Count > 0)
            {
                throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
            }
        }
    };

    internal static List<string> Check(ObservabilityOptions options, IReadOnlyList<Endpoint> endpoints)
    {
        var errors = new List<string>();
        var ownPaths = new List<(string Key, string Value, string Path)>();
        if (options.Metrics.Enabled)
        {
            ownPaths.Add(("Observability:Metrics:Path", options.Metrics.Path, Normalize(options.Metrics.Path)));
        }

        if (options.Health.Enabled)
        {
            var basePath = HealthRegistration.BasePath(options.Health.Path);
            foreach (var suffix in (string[])["", "/live", "/ready", "/detailed"])
            {
                ownPaths.Add(("Observability:Health:Path", options.Health.Path, Normalize(basePath + suffix)));
            }
        }

        foreach (var endpoint in endpoints)
        {
            if (endpoint is not RouteEndpoint route
                || endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is not null
                || !AnswersGet(endpoint)
                || LiteralPathOf(route.RoutePattern) is not { } path)
            {
                continue;
            }

            foreach (var own in ownPaths)
            {
                if (string.Equals(own.Path, path, StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add($"{own.Key} is '{own.Value}', so the library maps GET {own.Path}, which the app's endpoint '{endpoint.DisplayName}' (route '{route.RoutePattern.RawText}') also answers: every request to it would fail with an ambiguous match. Choose another {own.Key} or move that endpoint.");
                }
            }
        }

        CheckSlowRequestRoutes(options.SlowRequests, endpoints, errors);
        return errors;
    }

    private static void CheckSlowRequestRoutes(SlowRequestOptions slow, IReadOnlyList<Endpoint> endpoints, List<string> errors)
    {
        if (slow.Routes is not { Count: > 0 } routes)
        {
            return;
        }

        var templates = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints)
        {
            if (endpoint is RouteEndpoint { RoutePattern.RawText: { } raw } && endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is null)
            {
                templates.Add(raw);
            }
        }

        for (var i = 0; i < routes.Count; i++)
        {
            var configured = routes[i].Route;
            if (string.IsNullOrWhiteSpace(configured) || templates.Contains(configured))
            {
                continue;
            }

            var key = string.Create(CultureInfo.InvariantCulture, $"Observability:SlowRequests:Routes:{i}:Route");
            var near = templates.FirstOrDefault(t => string.Equals(t.Trim('/'), configured.Trim('/'), StringComparison.OrdinalIgnoreCase));
            errors.Add(near is not null
                ? $"{key} is '{configured}', which matches no endpoint's route template exactly; the endpoint's template is '{near}' (entries are compared as written, case and slashes included)."
                : $"{key} is '{configured}', which matches no endpoint's route template (write it exactly as the endpoint declares it; the app's templates: {string.Join(", ", templates.Take(MaxTemplatesShown).Select(static t => $"'{t}'"))}{(templates.Count > MaxTemplatesShown ? ", ..." : "")}).");
        }
    }

    private static bool AnswersGet(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { HttpMethods.Count: > 0 } methods
        || methods.HttpMethods.Contains(HttpMethods.Get, StringComparer.OrdinalIgnoreCase);

    /// <summary>The path a pattern of literal segments only matches, normalised as <see cref="Normalize"/>; null when it has parameters.</summary>
    private static string? LiteralPathOf(RoutePattern pattern)
    {
        if (pattern.Parameters.Count > 0)
        {
            return null;
        }

        var segments = new List<string>(pattern.PathSegments.Count);
        foreach (var segment in pattern.PathSegments)
        {
            if (segment.Parts is not [RoutePatternLiteralPart literal])
            {
                return null;
            }

            segments.Add(literal.Content);
        }

        return "/" + string.Join('/', segments);
    }

    /// <summary>Routing ignores a trailing slash: <c>/stats/</c> and <c>/stats</c> are one route.</summary>
    private static string Normalize(string path) => path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/";
}
