using Microsoft.AspNetCore.Http;
using Serilog.Events;

namespace Observability.AspNetCore.Core;

/// <summary>
/// What the request path needs to know about an endpoint, computed once per endpoint (keyed by the
/// <see cref="Endpoint"/> object, never by path, so distinct URLs of one route share one entry). The features' own
/// per-endpoint state (the metric children of its series) rides along in <see cref="MetricSeries"/>, so recording a
/// request allocates nothing after the first request of a (method, status).
/// </summary>
internal sealed class EndpointInfo
{
    /// <summary>The <c>endpoint</c> label of a request that matched no endpoint.</summary>
    public const string UnmatchedLabel = "unmatched";

    public EndpointInfo(Endpoint? endpoint, string? route, string metricLabel, bool isOwnEndpoint, int slowThresholdMs, bool isStreaming, byte[]? routeJson)
    {
        Endpoint = endpoint;
        Route = route;
        MetricLabel = metricLabel;
        RouteProperty = route is null ? null : new LogEventProperty(LogPropertyNames.Route, new ScalarValue(route));
        RouteJson = routeJson;
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

    /// <summary>
    /// The metrics feature's per-endpoint state (its cached series), set once when the entry is made: Core cannot
    /// name the type, and a cast to a sealed class is one compare.
    /// </summary>
    public object? MetricSeries { get; init; }
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

    /// <summary>The methods the own endpoints answer: HEAD like GET, for uptime probes that ask with HEAD.</summary>
    public static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Head];
}
