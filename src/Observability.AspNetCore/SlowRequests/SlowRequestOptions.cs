namespace Observability.AspNetCore;

/// <summary>Slow- and hung-request detection, bound from <c>Observability:SlowRequests</c>.</summary>
public sealed class SlowRequestOptions
{
    /// <summary>
    /// A request slower than this writes one Warning event and counts in <c>http_slow_requests_total</c>
    /// (<c>Observability:SlowRequests:ThresholdMs</c>, default 1000; 0 disables the check; negative is a startup error).
    /// </summary>
    public int ThresholdMs { get; set; } = 1000;

    /// <summary>
    /// A request still running after this writes one Warning event while it runs
    /// (<c>Observability:SlowRequests:HungAfterMs</c>, default 30000; 0 disables hung detection).
    /// </summary>
    public int HungAfterMs { get; set; } = 30000;

    /// <summary>
    /// At most this many slow and hung warnings per second for the whole app; the excess is still counted in the metrics
    /// and summarised by one event per second (<c>Observability:SlowRequests:MaxWarningsPerSecond</c>, default 20).
    /// </summary>
    public int MaxWarningsPerSecond { get; set; } = 20;

    /// <summary>
    /// Per-route thresholds (<c>Observability:SlowRequests:Routes</c>): a list, because the <c>:</c> of a route template such as
    /// <c>/api/items/{id:int}</c> would split a configuration key. An endpoint's own <see cref="SlowRequestThresholdAttribute"/>
    /// or <c>.WithSlowRequestThreshold()</c> wins over this list.
    /// </summary>
    public IList<SlowRequestRouteOptions>? Routes { get; set; }
}

/// <summary>One entry of <c>Observability:SlowRequests:Routes</c>.</summary>
public sealed class SlowRequestRouteOptions
{
    /// <summary>The route template exactly as the endpoint declares it, e.g. <c>/api/items/{id:int}</c>.</summary>
    public string Route { get; set; } = string.Empty;

    /// <summary>The slow-request threshold of that route in milliseconds; 0 disables the check for it.</summary>
    public int ThresholdMs { get; set; }
}
