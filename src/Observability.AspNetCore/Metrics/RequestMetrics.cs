using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.Metrics;

/// <summary>
/// The request families with their labels fixed here, and the cached in-progress children, created in the host's
/// <see cref="MetricsRegistry"/>. Only the request path's families: the scrape endpoint's allow list, the meter bridge
/// and the runtime metrics are their own parts (<see cref="MetricsAllowList"/>, <see cref="HostMeterBridge"/>,
/// <see cref="MetricsRegistration"/>).
/// </summary>
internal sealed class RequestMetrics
{
    private readonly Gauge.Child[] _inProgress;
    private readonly Regex? _excludedPaths;

    /// <summary>Every request series created so far (a series may appear twice after a race; counting is idempotent).</summary>
    private readonly ConcurrentQueue<RequestSeries> _series = new();

    public RequestMetrics(IOptions<ObservabilityOptions> options, MetricsRegistry registry, TracingState tracing)
    {
        var o = options.Value.Metrics;
        AttachesTraceExemplars = tracing.Enabled;
        var families = registry.Families;
        string[] requestLabels = ["method", "endpoint", "status"];
        Requests = families.CreateCounter(MetricFamilies.HttpRequests, "HTTP requests answered, by method, route template and status code.", requestLabels);
        Duration = families.CreateHistogram(MetricFamilies.HttpRequestDuration, "HTTP request duration in seconds, by method, route template and status code.", requestLabels,
            [.. (IEnumerable<double>?)o.DurationBuckets ?? MetricsOptions.DefaultDurationBuckets]);
        InProgress = families.CreateGauge(MetricFamilies.HttpRequestsInProgress, "HTTP requests being served, by method.", "method");
        Exceptions = families.CreateCounter(MetricFamilies.HttpRequestExceptions, "Unhandled exceptions thrown by request handlers, by method, route template and exception type.", "method", "endpoint", "exception");

        _inProgress = new Gauge.Child[HttpMethodLabels.Values.Length];
        for (var i = 0; i < _inProgress.Length; i++)
        {
            _inProgress[i] = InProgress.WithLabels(HttpMethodLabels.Values[i]);
        }

        // http_requests_total is the duration histogram's count of the same series: brought up to it before every
        // scrape, so a request records one observation instead of two (each a compare-exchange, an exemplar check and
        // a publish check in prometheus-net).
        registry.Registry.AddBeforeCollectCallback(SyncRequestCounts);

        _excludedPaths = PathGlob.Compile(o.ExcludePaths);
    }

    /// <summary>Whether request durations carry the recorded trace's IDs as exemplars: only while tracing is on.</summary>
    public bool AttachesTraceExemplars { get; }

    public Counter Requests { get; }

    public Histogram Duration { get; }

    public Gauge InProgress { get; }

    public Counter Exceptions { get; }

    public Gauge.Child InProgressFor(int methodIndex) => _inProgress[methodIndex];

    /// <summary>Whether <c>Observability:Metrics:ExcludePaths</c> leaves this path out of the request metrics.</summary>
    public bool IsExcludedPath(PathString path) => _excludedPaths is not null && path.Value is { } value && _excludedPaths.IsMatch(value);

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
