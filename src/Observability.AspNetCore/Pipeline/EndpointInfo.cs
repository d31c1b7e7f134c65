using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serilog.Events;

namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// What the request path needs to know about an endpoint, computed once per endpoint (keyed by the
/// <see cref="Endpoint"/> object, never by path, so distinct URLs of one route share one entry).
/// </summary>
internal sealed class EndpointInfo
{
    /// <summary>A request that matched no endpoint.</summary>
    public static readonly EndpointInfo Unmatched = new(route: null, isOwnEndpoint: false);

    private static readonly ConditionalWeakTable<Endpoint, EndpointInfo> Cache = new();

    private EndpointInfo(string? route, bool isOwnEndpoint)
    {
        Route = route;
        RouteProperty = route is null ? null : new LogEventProperty(LogPropertyNames.Route, new ScalarValue(route));
        IsOwnEndpoint = isOwnEndpoint;
    }

    /// <summary>The route template as ASP.NET Core reports it (<c>RoutePattern.RawText</c>), null when none matched.</summary>
    public string? Route { get; }

    public LogEventProperty? RouteProperty { get; }

    /// <summary>True for endpoints the library maps itself (health, metrics), recognised by metadata whatever their path.</summary>
    public bool IsOwnEndpoint { get; }

    public static EndpointInfo For(Endpoint? endpoint) =>
        endpoint is null ? Unmatched : Cache.GetValue(endpoint, static e => Create(e));

    private static EndpointInfo Create(Endpoint endpoint) => new(
        (endpoint as RouteEndpoint)?.RoutePattern.RawText,
        endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is not null);
}

/// <summary>Marks the endpoints the library maps itself, so they are recognised by metadata, not by path.</summary>
internal sealed class ObservabilityEndpointMetadata
{
    public static readonly ObservabilityEndpointMetadata Instance = new();
}
