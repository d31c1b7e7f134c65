using Prometheus;

namespace Observability.AspNetCore.Core;

/// <summary>
/// Every metric family the library defines, without the prefix: the one list the reference table in docs/metrics.md, the
/// shipped monitoring assets and the prefix rule are checked against. A new family is added here and created through
/// <see cref="MetricFamilyFactory"/>, which refuses names missing from this list.
/// </summary>
internal static class MetricFamilies
{
    public const string HttpRequests = "http_requests_total";
    public const string HttpRequestDuration = "http_request_duration_seconds";
    public const string HttpRequestsInProgress = "http_requests_in_progress";
    public const string HttpRequestExceptions = "http_request_exceptions_total";
    public const string HttpSlowRequests = "http_slow_requests_total";
    public const string DbSlowQueries = "db_slow_queries_total";
    public const string DbQueryDuration = "db_query_duration_seconds";
    public const string HttpRequestDbCommands = "http_request_db_commands";
    public const string DbRepeatedQueries = "db_repeated_queries_total";
    public const string HealthCheckStatus = "health_check_status";
    public const string HealthCheckDuration = "health_check_duration_seconds";
    public const string ProcessCpuSeconds = "process_cpu_seconds_total";
    public const string ProcessResidentMemory = "process_resident_memory_bytes";
    public const string ProcessStartTime = "process_start_time_seconds";
    public const string ProcessOpenFds = "process_open_fds";
    public const string ProcessThreads = "process_threads";
    public const string ProcessCpuLimit = "process_cpu_limit_cores";
    public const string ProcessMemoryLimit = "process_memory_limit_bytes";
    public const string GcCollections = "dotnet_gc_collections_total";
    public const string GcHeapSize = "dotnet_gc_heap_size_bytes";
    public const string GcAllocated = "dotnet_gc_allocated_bytes_total";
    public const string GcPause = "dotnet_gc_pause_seconds_total";
    public const string ThreadPoolThreads = "dotnet_threadpool_threads";
    public const string ThreadPoolQueueLength = "dotnet_threadpool_queue_length";
    public const string ThreadPoolCompletedItems = "dotnet_threadpool_completed_items_total";
    public const string LockContentions = "dotnet_lock_contentions_total";
    public const string AppInfo = "app_info";
    public const string LogLinesDropped = "log_lines_dropped_total";
    public const string JobRuns = "job_runs_total";
    public const string JobRunDuration = "job_run_duration_seconds";
    public const string JobRunsInProgress = "job_runs_in_progress";
    public const string JobSlowRuns = "job_slow_runs_total";
    public const string JobQueueDepth = "job_queue_depth";
    public const string WorkerLastBeat = "worker_last_beat_timestamp_seconds";
    public const string OtlpSpansExported = "otlp_spans_exported_total";
    public const string OtlpSpansDropped = "otlp_spans_dropped_total";
    public const string OtlpLogRecordsExported = "otlp_log_records_exported_total";
    public const string OtlpLogRecordsDropped = "otlp_log_records_dropped_total";

    /// <summary>In the reference table's order (docs/metrics.md).</summary>
    public static readonly IReadOnlyList<string> All =
    [
        HttpRequests, HttpRequestDuration, HttpRequestsInProgress, HttpRequestExceptions, HttpSlowRequests,
        DbSlowQueries, DbQueryDuration, HttpRequestDbCommands, DbRepeatedQueries,
        HealthCheckStatus, HealthCheckDuration,
        ProcessCpuSeconds, ProcessResidentMemory, ProcessStartTime, ProcessOpenFds, ProcessThreads, ProcessCpuLimit, ProcessMemoryLimit,
        GcCollections, GcHeapSize, GcAllocated, GcPause,
        ThreadPoolThreads, ThreadPoolQueueLength, ThreadPoolCompletedItems, LockContentions,
        AppInfo, LogLinesDropped,
        JobRuns, JobRunDuration, JobRunsInProgress, JobSlowRuns, JobQueueDepth, WorkerLastBeat,
        OtlpSpansExported, OtlpSpansDropped, OtlpLogRecordsExported, OtlpLogRecordsDropped,
    ];
}

/// <summary>
/// Creates the library's families in the host's registry under <c>Observability:Metrics:Prefix</c>, exemplars off
/// (the default provider reads the current trace on every observation). The one place a family gets its prefix.
/// </summary>
internal sealed class MetricFamilyFactory
{
    private readonly MetricFactory _factory;

    public MetricFamilyFactory(CollectorRegistry registry, string prefix)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0 && !prefix.EndsWith('_'))
        {
            throw new ArgumentException("The prefix must be empty or end with '_'.", nameof(prefix));
        }

        Prefix = prefix;
        Registry = registry;
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
    }

    /// <summary>Empty, or ending in <c>_</c>.</summary>
    public string Prefix { get; }

    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Families nobody reads before a scrape, made by the first scrape rather than on the way to the app's first
    /// response, then <paramref name="refresh"/>ed before every scrape. Making them again is harmless (families are got
    /// or added), so a creation that failed is retried by the next scrape rather than cached; concurrent first scrapes
    /// each finish creating before they write.
    /// </summary>
    public void CreateAtFirstScrape<T>(Func<MetricFamilyFactory, T> create, Action<T> refresh)
        where T : class
    {
        var made = new Lazy<T>(() => create(this), LazyThreadSafetyMode.PublicationOnly);
        Registry.AddBeforeCollectCallback(() => refresh(made.Value));
    }

    public Counter CreateCounter(string family, string help, params string[] labelNames) =>
        _factory.CreateCounter(Name(family), help, labelNames, new CounterConfiguration { ExemplarBehavior = ExemplarBehavior.NoExemplars() });

    public Gauge CreateGauge(string family, string help, params string[] labelNames) =>
        _factory.CreateGauge(Name(family), help, labelNames);

    public Histogram CreateHistogram(string family, string help, string[] labelNames, double[] buckets) =>
        _factory.CreateHistogram(Name(family), help, labelNames, new HistogramConfiguration { Buckets = buckets, ExemplarBehavior = ExemplarBehavior.NoExemplars() });

    private string Name(string family)
    {
        // Startup only: a family missing from the list would be missing from the docs and the prefixed assets.
        if (!MetricFamilies.All.Contains(family, StringComparer.Ordinal))
        {
            throw new InvalidOperationException($"{family} is not in MetricFamilies.All; add it there and to the reference table in docs/metrics.md.");
        }

        return Prefix + family;
    }
}
