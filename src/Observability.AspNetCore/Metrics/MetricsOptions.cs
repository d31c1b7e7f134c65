namespace Observability.AspNetCore;

/// <summary>Prometheus metrics settings, bound from <c>Observability:Metrics</c>.</summary>
public sealed class MetricsOptions
{
    /// <summary>The default request-duration histogram buckets, in seconds: 5 ms to 10 s.</summary>
    public static readonly IReadOnlyList<double> DefaultDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>
    /// The meters always left out of the <c>System.Diagnostics.Metrics</c> bridge, whatever <see cref="ExcludeMeters"/>
    /// says: ASP.NET Core's hosting and routing meters (they duplicate the library's request metrics), the runtime's own
    /// meter (the library exports runtime metrics under stable names of its own) and .NET's internal meters
    /// (<c>Private.InternalDiagnostics.*</c>, e.g. always-zero QUIC counters). A meter named exactly (no <c>*</c>) in
    /// <see cref="Meters"/> is exported anyway. An entry ending in <c>*</c> matches a name prefix.
    /// </summary>
    public static readonly IReadOnlyList<string> BuiltInExcludeMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Routing", "System.Runtime", "Private.InternalDiagnostics.*"];

    /// <summary>Whether the metrics feature is on: the endpoint and request metrics (<c>Observability:Metrics:Enabled</c>, default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The scrape endpoint's path (<c>Observability:Metrics:Path</c>, default <c>/metrics</c>).</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>
    /// Prepended to every metric family the library creates or bridges (<c>Observability:Metrics:Prefix</c>, default
    /// empty): its own, the runtime metrics, <c>app_info</c> and every exported <c>System.Diagnostics.Metrics</c> meter,
    /// e.g. <c>shop</c> publishes <c>shop_http_requests_total</c>; an underscore is added when the prefix lacks one.
    /// Metrics the app creates directly on prometheus-net's default registry keep their names.
    /// </summary>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>
    /// Networks (CIDR, e.g. <c>10.0.0.0/8</c>, <c>127.0.0.1/32</c>) allowed to read the endpoint; others get 404
    /// (<c>Observability:Metrics:AllowedNetworks</c>). Null or empty (the default) leaves it open, as Prometheus scrapes expect.
    /// </summary>
    public IList<string>? AllowedNetworks { get; set; }

    /// <summary>
    /// Upper bounds, in seconds, of the <c>http_request_duration_seconds</c> buckets (<c>Observability:Metrics:DurationBuckets</c>);
    /// null means <see cref="DefaultDurationBuckets"/>. Strictly increasing and positive.
    /// </summary>
    public IList<double>? DurationBuckets { get; set; }

    /// <summary>
    /// The <c>System.Diagnostics.Metrics</c> meters exported (<c>Observability:Metrics:Meters</c>); null (the default)
    /// exports every meter not excluded. An entry ending in <c>*</c> matches a name prefix.
    /// </summary>
    public IList<string>? Meters { get; set; }

    /// <summary>
    /// Meters never exported (<c>Observability:Metrics:ExcludeMeters</c>, default none), in addition to
    /// <see cref="BuiltInExcludeMeters"/>. An entry ending in <c>*</c> matches a name prefix.
    /// </summary>
    public IList<string>? ExcludeMeters { get; set; }

    /// <summary>
    /// Request paths left out of the request metrics (<c>Observability:Metrics:ExcludePaths</c>), as globs: <c>*</c>
    /// matches within a segment, <c>**</c> across segments. The library's own endpoints are always left out.
    /// </summary>
    public IList<string>? ExcludePaths { get; set; }
}
