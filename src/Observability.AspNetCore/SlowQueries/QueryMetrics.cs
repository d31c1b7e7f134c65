using System.Collections.Concurrent;
using Observability.AspNetCore.Metrics;
using Prometheus;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// The per-request database metrics, registered in the host's registry beside the request metrics (same prefix), with
/// their children cached per route template. The per-command metrics (<c>db_query_duration_seconds</c>,
/// <c>db_slow_queries_total</c>) are registered with the request metrics; their children are cached per database system
/// in <see cref="DbSystemSeries"/>.
/// </summary>
internal sealed class QueryMetrics
{
    private readonly ConcurrentDictionary<string, Histogram.Child> _commands = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter.Child> _repeated = new(StringComparer.Ordinal);

    public QueryMetrics(RequestMetrics metrics)
    {
        Requests = metrics;
        CommandsPerRequest = metrics.Families.CreateHistogram(
            MetricFamilies.HttpRequestDbCommands,
            "Database commands run by a request that ran at least one, by route template. Divide the sum by http_requests_total for the mean over all requests.",
            ["endpoint"],
            [1, 2, 3, 5, 10, 20, 50, 100, 200, 500]);
        RepeatedQueries = metrics.Families.CreateCounter(
            MetricFamilies.DbRepeatedQueries,
            "Command shapes that ran at least Observability:SlowQueries:RepeatedQueryThreshold times within one request (N+1), by route template.",
            "endpoint");
    }

    public RequestMetrics Requests { get; }

    public Histogram CommandsPerRequest { get; }

    public Counter RepeatedQueries { get; }

    public Histogram.Child CommandsFor(string endpoint) =>
        _commands.TryGetValue(endpoint, out var child) ? child : _commands.GetOrAdd(endpoint, CommandsPerRequest.WithLabels(endpoint));

    public Counter.Child RepeatedFor(string endpoint) =>
        _repeated.TryGetValue(endpoint, out var child) ? child : _repeated.GetOrAdd(endpoint, RepeatedQueries.WithLabels(endpoint));
}

/// <summary>A database system's label value, SQL dialect and cached metric children (null when metrics are off).</summary>
internal sealed class DbSystemSeries(string name, SqlDialect dialect, Histogram.Child? duration, Counter.Child? slow)
{
    public string Name { get; } = name;

    public SqlDialect Dialect { get; } = dialect;

    public Histogram.Child? Duration { get; } = duration;

    public Counter.Child? Slow { get; } = slow;
}
