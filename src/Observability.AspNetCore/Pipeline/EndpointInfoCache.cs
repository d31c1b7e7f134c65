using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Metrics;
using Observability.AspNetCore.SlowRequests;

namespace Observability.AspNetCore.Pipeline;

/// <summary>The per-host cache of <see cref="EndpointInfo"/>; weak keys, so endpoints dropped by a changing data source are collected.</summary>
internal sealed class EndpointInfoCache
{
    private const string MethodRejectionDisplayName = "405 HTTP Method Not Supported";

    private readonly ConditionalWeakTable<Endpoint, EndpointInfo> _cache = new();
    private readonly ConditionalWeakTable<Endpoint, EndpointInfo>.CreateValueCallback _create;
    private readonly SlowRequestThresholds _thresholds;
    private readonly bool _metrics;

    public EndpointInfoCache(IOptions<ObservabilityOptions> options)
    {
        _thresholds = new SlowRequestThresholds(options.Value.SlowRequests);
        _metrics = options.Value.Metrics.Enabled;

        _create = Create;
        Unmatched = new(endpoint: null, route: null, EndpointInfo.UnmatchedLabel, isOwnEndpoint: false, _thresholds.GlobalMs, isStreaming: false, routeJson: null)
        {
            MetricSeries = _metrics ? new EndpointSeries(EndpointInfo.UnmatchedLabel) : null,
        };
    }

    public EndpointInfo Unmatched { get; }

    public EndpointInfo Get(Endpoint? endpoint) =>
        endpoint is null ? Unmatched : _cache.GetValue(endpoint, _create);

    private EndpointInfo Create(Endpoint endpoint)
    {
        // Routing's stand-in for "the path matched, the method did not" names no route: counted and logged as unmatched.
        if (IsMethodRejection(endpoint))
        {
            return Unmatched;
        }

        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        var threshold = _thresholds.For(endpoint, route);
        var label = route ?? endpoint.DisplayName ?? "unknown";
        return new EndpointInfo(
            endpoint,
            route,
            label,
            endpoint.Metadata.GetMetadata<ObservabilityEndpointMetadata>() is not null,
            threshold,
            IsStreaming(endpoint),
            route is null ? null : CompletionLineEncoder.EncodeRoute(route))
        {
            MetricSeries = _metrics ? new EndpointSeries(label) : null,
        };
    }

    /// <summary>
    /// The endpoint ASP.NET Core's <c>HttpMethodMatcherPolicy</c> selects to answer 405: not a route endpoint, known
    /// only by its display name (the type and the constant are internal), unchanged since ASP.NET Core 3.0.
    /// </summary>
    private static bool IsMethodRejection(Endpoint endpoint) =>
        endpoint is not RouteEndpoint && string.Equals(endpoint.DisplayName, MethodRejectionDisplayName, StringComparison.Ordinal);

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

