using Microsoft.AspNetCore.Http;

namespace Observability.AspNetCore.SlowRequests;

/// <summary>
/// The slow-request threshold in force for an endpoint: its attribute or <c>.WithSlowRequestThreshold()</c>, then its
/// route's entry in <c>Observability:SlowRequests:Routes</c>, then the global one; 0 = off. Read once per endpoint.
/// </summary>
internal sealed class SlowRequestThresholds
{
    private readonly Dictionary<string, int> _routes = new(StringComparer.Ordinal);

    public SlowRequestThresholds(SlowRequestOptions options)
    {
        GlobalMs = options.ThresholdMs;
        foreach (var route in options.Routes ?? [])
        {
            _routes[route.Route] = route.ThresholdMs;
        }
    }

    /// <summary>The global threshold (<c>Observability:SlowRequests:ThresholdMs</c>): the one of an unmatched request.</summary>
    public int GlobalMs { get; }

    public int For(Endpoint endpoint, string? route) =>
        endpoint.Metadata.GetMetadata<SlowRequestThresholdAttribute>()?.Milliseconds
            ?? (route is not null && _routes.TryGetValue(route, out var configured) ? configured : GlobalMs);
}
