using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observability.AspNetCore.Metrics;
using Serilog.Events;

namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// What the request path needs to know about an endpoint, computed once per endpoint (keyed by the
/// <see cref="Endpoint"/> object, never by path, so distinct URLs of one route share one entry), including the metric
/// children of its series, so recording a request allocates nothing after the first request of a (method, status).
/// </summary>
internal sealed class EndpointInfo
{
    /// <summary>The <c>endpoint</c> label of a request that matched no endpoint.</summary>
    public const string UnmatchedLabel = "unmatched";

    private readonly ConcurrentDictionary<int, RequestSeries> _series = new();

    public EndpointInfo(string? route, string metricLabel, bool isOwnEndpoint)
    {
        Route = route;
        MetricLabel = metricLabel;
        RouteProperty = route is null ? null : new LogEventProperty(LogPropertyNames.Route, new ScalarValue(route));
        IsOwnEndpoint = isOwnEndpoint;
    }

    /// <summary>The route template as ASP.NET Core reports it (<c>RoutePattern.RawText</c>), null when none matched.</summary>
    public string? Route { get; }

    /// <summary>The <c>endpoint</c> label: the route template, <c>unmatched</c>, or the display name of a non-route endpoint.</summary>
    public string MetricLabel { get; }

    public LogEventProperty? RouteProperty { get; }

    /// <summary>True for endpoints the library maps itself (health, metrics), recognised by metadata whatever their path.</summary>
    public bool IsOwnEndpoint { get; }

    public RequestSeries GetSeries(RequestMetrics metrics, int methodIndex, int statusCode)
    {
        var key = (methodIndex * 1000) + (statusCode is >= 0 and < 1000 ? statusCode : 0);
        return _series.TryGetValue(key, out var series)
            ? series
            : _series.GetOrAdd(key, metrics.CreateSeries(methodIndex, MetricLabel, statusCode));
    }
}

/// <summary>The per-host cache of <see cref="EndpointInfo"/>; weak keys, so endpoints dropped by a changing data source are collected.</summary>
internal sealed class EndpointInfoCache
{
    private readonly ConditionalWeakTable<Endpoint, EndpointInfo> _cache = new();

    public EndpointInfo Unmatched { get; } = new(route: null, EndpointInfo.UnmatchedLabel, isOwnEndpoint: false);

    public EndpointInfo Get(Endpoint? endpoint) =>
        endpoint is null ? Unmatched : _cache.GetValue(endpoint, static e => Create(e));

    private static EndpointInfo Create(Endpoint endpoint)
    {
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        return new EndpointInfo(
            route,
            route ?? endpoint.DisplayName ?? "unknown",
            endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is not null);
    }
}

/// <summary>Marks the endpoints the library maps itself, so they are recognised by metadata, not by path.</summary>
internal sealed class ObservabilityEndpointMetadata
{
    public static readonly ObservabilityEndpointMetadata Instance = new();
}
