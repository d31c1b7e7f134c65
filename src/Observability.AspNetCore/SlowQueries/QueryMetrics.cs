using System.Collections.Concurrent;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// The slow-query feature's metrics, registered in the host's registry beside the request metrics (same prefix). The
/// per-request ones have their children cached per route template; the per-command ones
/// (<c>db_query_duration_seconds</c>, <c>db_slow_queries_total</c>) per database system in <see cref="DbSystemSeries"/>.
/// </summary>
internal sealed class QueryMetrics
{
    private readonly ConcurrentDictionary<string, Histogram.Child> _commands = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter.Child> _repeated = new(StringComparer.Ordinal);

    public QueryMetrics(MetricFamilyFactory families)
    {
        SlowQueries = families.CreateCounter(MetricFamilies.DbSlowQueries, "Database commands slower than the slow-query threshold, by database system.", "db_system");
        QueryDuration = families.CreateHistogram(MetricFamilies.DbQueryDuration, "Database command duration in seconds, by database system.", ["db_system"],
            [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
        CommandsPerRequest = families.CreateHistogram(
            MetricFamilies.HttpRequestDbCommands,
            "Database commands run by a request that ran at least one, by route template. Divide the sum by http_requests_total for the mean over all requests.",
            ["endpoint"],
            [1, 2, 3, 5, 10, 20, 50, 100, 200, 500]);
        RepeatedQueries = families.CreateCounter(
            MetricFamilies.DbRepeatedQueries,
            "Command shapes that ran at least Observability:SlowQueries:RepeatedQueryThreshold times within one request (N+1), by route template.",
            "endpoint");
    }

    public Counter SlowQueries { get; }

    public Histogram QueryDuration { get; }

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
