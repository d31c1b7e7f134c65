using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Metrics.Bridge;
using Observability.AspNetCore.Metrics.Runtime;
using Prometheus;

namespace Observability.AspNetCore.Metrics;

/// <summary>
/// The request metrics with their labels fixed here, and the cached in-progress children, created in the host's
/// <see cref="MetricsRegistry"/>. The app's own prometheus-net metrics stay in prometheus-net's default registry and
/// are served on the same endpoint.
/// </summary>
internal sealed class RequestMetrics : IDisposable
{
    private readonly Gauge.Child[] _inProgress;
    private readonly Regex? _excludedPaths;
    private readonly IPNetwork[] _allowedNetworks;

    private readonly MeterBridge _bridge;

    /// <summary>Every request series created so far (a series may appear twice after a race; counting is idempotent).</summary>
    private readonly ConcurrentQueue<RequestSeries> _series = new();

    public RequestMetrics(IOptions<ObservabilityOptions> options, ServiceIdentity identity, IMeterFactory meterFactory, MetricsRegistry registry, TracingState tracing)
    {
        var o = options.Value.Metrics;
        Prefix = registry.Prefix;
        AttachesTraceExemplars = tracing.Enabled;
        Registry = registry.Registry;
        Families = registry.Families;
        string[] requestLabels = ["method", "endpoint", "status"];
        Requests = Families.CreateCounter(MetricFamilies.HttpRequests, "HTTP requests answered, by method, route template and status code.", requestLabels);
        Duration = Families.CreateHistogram(MetricFamilies.HttpRequestDuration, "HTTP request duration in seconds, by method, route template and status code.", requestLabels,
            [.. (IEnumerable<double>?)o.DurationBuckets ?? MetricsOptions.DefaultDurationBuckets]);
        InProgress = Families.CreateGauge(MetricFamilies.HttpRequestsInProgress, "HTTP requests being served, by method.", "method");
        Exceptions = Families.CreateCounter(MetricFamilies.HttpRequestExceptions, "Unhandled exceptions thrown by request handlers, by method, route template and exception type.", "method", "endpoint", "exception");


        _inProgress = new Gauge.Child[HttpMethodLabels.Values.Length];
        for (var i = 0; i < _inProgress.Length; i++)
        {
            _inProgress[i] = InProgress.WithLabels(HttpMethodLabels.Values[i]);
        }

        // http_requests_total is the duration histogram's count of the same series: brought up to it before every
        // scrape, so a request records one observation instead of two (each a compare-exchange, an exemplar check and
        // a publish check in prometheus-net).
        Registry.AddBeforeCollectCallback(SyncRequestCounts);

        RuntimeMetrics.Register(Families, identity.Name, identity.Version, identity.Environment);

        // One bridge per registry (two would count every measurement twice), scoped to this host's meter factory so two
        // hosts in one process never export each other's instruments. The user's exclusions add to the built-in ones.
        _bridge = new MeterBridge(
            Registry,
            o.Meters is null ? null : [.. o.Meters],
            o.ExcludeMeters is null ? [] : [.. o.ExcludeMeters],
            meterScope: meterFactory,
            prefix: Prefix,
            builtInExclude: MetricsOptions.BuiltInExcludeMeters);

        _excludedPaths = PathGlob.Compile(o.ExcludePaths);
        _allowedNetworks = o.AllowedNetworks is { Count: > 0 } networks ? [.. networks.Select(IPNetwork.Parse)] : [];
    }

    /// <summary>The metric-name prefix, empty or ending in <c>_</c>.</summary>
    public string Prefix { get; }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates the library's families in <see cref="Registry"/> with <see cref="Prefix"/>; every feature's families go through it.</summary>
    public MetricFamilyFactory Families { get; }

    /// <summary>Whether request durations carry the recorded trace's IDs as exemplars: only while tracing is on.</summary>
    public bool AttachesTraceExemplars { get; }

    public Counter Requests { get; }

    public Histogram Duration { get; }

    public Gauge InProgress { get; }

    public Counter Exceptions { get; }

    public Gauge.Child InProgressFor(int methodIndex) => _inProgress[methodIndex];

    public void Dispose() => _bridge.Dispose();

    public bool IsExcludedPath(PathString path) => _excludedPaths is not null && path.Value is { } value && _excludedPaths.IsMatch(value);

    /// <summary>True when the caller may read the metrics endpoint: no allow list, or its address is in a listed network.</summary>
    public bool IsAllowed(IPAddress? remote)
    {
        if (_allowedNetworks.Length == 0)
        {
            return true;
        }

        if (remote is null)
        {
            return false;
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        foreach (var network in _allowedNetworks)
        {
            if (network.Contains(remote))
            {
                return true;
            }
        }

        return false;
    }

    public RequestSeries CreateSeries(int methodIndex, string endpoint, int statusCode)
    {
        var method = HttpMethodLabels.Values[methodIndex];
        var status = statusCode.ToString(CultureInfo.InvariantCulture);
        var series = new RequestSeries(Requests.WithLabels(method, endpoint, status), Duration.WithLabels(method, endpoint, status));
        _series.Enqueue(series);
        return series;
    }

    private void SyncRequestCounts()
    {
        foreach (var series in _series)
        {
            series.Requests.IncTo(series.Duration.Count);
        }
    }
}

/// <summary>The cached children of one (endpoint, method, status) series.</summary>
internal sealed class RequestSeries(Counter.Child requests, Histogram.Child duration)
{
    /// <summary>Not counted per request: set from <see cref="Duration"/>'s count before every scrape.</summary>
    public Counter.Child Requests { get; } = requests;

    public Histogram.Child Duration { get; } = duration;
}

/// <summary>The cached series of one endpoint, by (method, status); kept in <see cref="Core.EndpointInfo.MetricSeries"/>.</summary>
internal sealed class EndpointSeries(string metricLabel)
{
    private readonly ConcurrentDictionary<int, RequestSeries> _series = new();

    public RequestSeries Get(RequestMetrics metrics, int methodIndex, int statusCode)
    {
        var key = (methodIndex * 1000) + (statusCode is >= 0 and < 1000 ? statusCode : 0);
        return _series.TryGetValue(key, out var series)
            ? series
            : _series.GetOrAdd(key, metrics.CreateSeries(methodIndex, metricLabel, statusCode));
    }
}
