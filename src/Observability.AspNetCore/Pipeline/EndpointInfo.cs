using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Logging;
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

    public EndpointInfo(Endpoint? endpoint, string? route, string metricLabel, bool isOwnEndpoint, int slowThresholdMs, bool isStreaming)
    {
        Endpoint = endpoint;
        Route = route;
        MetricLabel = metricLabel;
        RouteProperty = route is null ? null : new LogEventProperty(LogPropertyNames.Route, new ScalarValue(route));
        RouteJson = route is null ? null : CompletionLineEncoder.EncodeRoute(route);
        IsOwnEndpoint = isOwnEndpoint;
        SlowThresholdMs = slowThresholdMs;
        IsStreaming = isStreaming;
    }

    /// <summary>
    /// The endpoint this describes (null for unmatched requests). The cache's weak table lets a value refer to its own
    /// key without keeping it alive.
    /// </summary>
    public Endpoint? Endpoint { get; }

    /// <summary>The slow-request threshold in force for this endpoint (attribute, then configured route, then the global one); 0 = off.</summary>
    public int SlowThresholdMs { get; }

    /// <summary>Streaming by design (server-sent events, gRPC streaming): left out of slow and hung detection.</summary>
    public bool IsStreaming { get; }

    /// <summary>The route template as ASP.NET Core reports it (<c>RoutePattern.RawText</c>), null when none matched.</summary>
    public string? Route { get; }

    /// <summary>The <c>endpoint</c> label: the route template, <c>unmatched</c>, or the display name of a non-route endpoint.</summary>
    public string MetricLabel { get; }

    public LogEventProperty? RouteProperty { get; }

    /// <summary><c>,"Route":"..."</c> as UTF-8, for the completion line written without Serilog.</summary>
    public byte[]? RouteJson { get; }

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
    private readonly ConditionalWeakTable<Endpoint, EndpointInfo>.CreateValueCallback _create;
    private readonly int _globalThresholdMs;
    private readonly Dictionary<string, int> _routeThresholds = new(StringComparer.Ordinal);

    public EndpointInfoCache(IOptions<ObservabilityOptions> options)
    {
        var slow = options.Value.SlowRequests;
        _globalThresholdMs = slow.ThresholdMs;
        foreach (var route in slow.Routes ?? [])
        {
            _routeThresholds[route.Route] = route.ThresholdMs;
        }

        _create = Create;
        Unmatched = new(endpoint: null, route: null, EndpointInfo.UnmatchedLabel, isOwnEndpoint: false, _globalThresholdMs, isStreaming: false);
    }

    public EndpointInfo Unmatched { get; }

    public EndpointInfo Get(Endpoint? endpoint) =>
        endpoint is null ? Unmatched : _cache.GetValue(endpoint, _create);

    private EndpointInfo Create(Endpoint endpoint)
    {
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        var threshold = endpoint.Metadata.GetMetadata<SlowRequestThresholdAttribute>()?.Milliseconds
            ?? (route is not null && _routeThresholds.TryGetValue(route, out var configured) ? configured : _globalThresholdMs);
        return new EndpointInfo(
            endpoint,
            route,
            route ?? endpoint.DisplayName ?? "unknown",
            endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is not null,
            threshold,
            IsStreaming(endpoint));
    }

    private static bool IsStreaming(Endpoint endpoint)
    {
        foreach (var metadata in endpoint.Metadata)
        {
            if (metadata is IProducesResponseTypeMetadata produces && produces.ContentTypes.Contains(EventStream.ContentType, StringComparer.OrdinalIgnoreCase))
            {
                return true;
            }

            // gRPC without a dependency on Grpc.AspNetCore: its endpoints carry GrpcMethodMetadata whose Method.Type
            // is Unary for plain calls; anything else streams. Read once per endpoint, so reflection is fine here.
            var type = metadata.GetType();
            if (type.FullName == "Grpc.AspNetCore.Server.GrpcMethodMetadata"
                && type.GetProperty("Method")?.GetValue(metadata) is { } method
                && method.GetType().GetProperty("Type")?.GetValue(method)?.ToString() is { } kind
                && kind != "Unary")
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Server-sent events, recognised by content type.</summary>
internal static class EventStream
{
    public const string ContentType = "text/event-stream";

    public static bool Is(string? contentType) =>
        contentType is not null && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Marks the endpoints the library maps itself, so they are recognised by metadata, not by path.</summary>
internal sealed class ObservabilityEndpointMetadata
{
    public static readonly ObservabilityEndpointMetadata Instance = new();
}
