using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// Where every database command of the host ends up, from the EF Core interceptor or from the Npgsql listener: its time
/// goes into <c>db_query_duration_seconds</c> and into the current request's <see cref="RequestDbStats"/>; a slow one is
/// counted and written as one warning; at the end of a request, repeated command shapes are reported. A fast command
/// costs a histogram observation, a lock-protected increment and, with N+1 detection on, a hash over its text (skipped
/// when the same string ran just before): no formatting, no allocation after the request's first command.
/// </summary>
internal sealed class SlowQueryMonitor : IHostedService, IDisposable
{
    public const string LoggerCategory = "Observability.AspNetCore.SlowQueries";

    private const string QueryTextTag = "db.query.text";
    private const string NamespaceTag = "db.namespace";
    private const string ErrorTypeTag = "error.type";
    private const string FirstResponseEvent = "received-first-response";
    private const string ExceptionEvent = "exception";
    private const string ExceptionTypeTag = "exception.type";

    private readonly ILogger _logger;
    private readonly IHttpContextAccessor _accessor;
    private readonly QueryMetrics? _metrics;
    private readonly ConcurrentDictionary<Type, CommandKind> _kinds = new();
    private readonly ConcurrentDictionary<string, DbSystemSeries> _systems = new(StringComparer.Ordinal);
    private readonly Func<Type, CommandKind> _createKind;
    private readonly DbSystemSeries _postgres;
    private readonly long _thresholdTicks;
    private readonly bool _redactLiterals;
    private readonly int _maxCommandTextLength;
    private readonly WarningBudget _budget;
    private readonly Heartbeat _heartbeat;
    private CommandKind? _lastKind;
    private int _registered;
    private IDisposable? _ticking;

    public SlowQueryMonitor(IOptions<ObservabilityOptions> options, ILoggerFactory loggerFactory, IHttpContextAccessor accessor, IServiceProvider services, Heartbeat heartbeat)
    {
        _heartbeat = heartbeat;
        var o = options.Value;
        var q = o.SlowQueries;
        _logger = loggerFactory.CreateLogger(LoggerCategory);
        _accessor = accessor;
        ThresholdMs = q.ThresholdMs;
        _thresholdTicks = q.ThresholdMs > 0 ? TimeSpan.FromMilliseconds(q.ThresholdMs).Ticks : long.MaxValue;
        _redactLiterals = q.RedactLiterals;
        _maxCommandTextLength = q.MaxCommandTextLength;
        RepeatedQueryThreshold = q.RepeatedQueryThreshold;
        _budget = new WarningBudget(q.MaxWarningsPerSecond);
        if (services.GetRequiredService<MetricsRegistry>() is { Enabled: true } registry)
        {
            _metrics = new QueryMetrics(registry.Families);
        }

        _createKind = CreateKind;
        _postgres = SystemSeries(DbSystems.PostgreSql, SqlDialect.Standard);
    }

    public int ThresholdMs { get; }

    public int RepeatedQueryThreshold { get; }

    /// <summary>A command seen by the EF Core interceptor: its provider's own command, with EF Core's timing.</summary>
    public void OnEfCoreCommand(DbCommand command, TimeSpan duration, string? errorType)
    {
        var kind = KindOf(command.GetType());
        var context = _accessor.HttpContext;

        // EF Core on Npgsql: the Npgsql listener sees the same command, and reports it for every Npgsql user alike.
        if (kind.IsNpgsql && NpgsqlCommandListener.Sees(inRequest: context is not null))
        {
            return;
        }

        var text = command.CommandText;
        if (Record(context, kind.System, text, duration))
        {
            ReportSlow(kind.System, DatabaseOf(command), text, duration, errorType);
        }
    }

    /// <summary>
    /// A command activity of Npgsql that just stopped. Its time is until the first response (Npgsql's
    /// <c>received-first-response</c> event, the moment EF Core's interceptor reports too) rather than until the reader
    /// was closed, so time the app spends consuming a streamed result is not blamed on the database.
    /// </summary>
    public void OnNpgsqlActivity(Activity activity)
    {
        string? text = null;
        string? database = null;
        foreach (ref readonly var tag in activity.EnumerateTagObjects())
        {
            switch (tag.Key)
            {
                case QueryTextTag:
                    text = tag.Value as string;
                    break;
                case NamespaceTag:
                    database = tag.Value as string;
                    break;
            }
        }

        // Physical connection opens and COPY operations carry no query text: they are not commands.
        if (text is null)
        {
            return;
        }

        var duration = activity.Duration;
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (e.Name == FirstResponseEvent)
            {
                var firstResponse = e.Timestamp.UtcDateTime - activity.StartTimeUtc;
                if (firstResponse >= TimeSpan.Zero && firstResponse < duration)
                {
                    duration = firstResponse;
                }

                break;
            }
        }

        if (Record(_accessor.HttpContext, _postgres, text, duration))
        {
            var errorType = activity.Status == ActivityStatusCode.Error ? ErrorTypeOf(activity) : null;

            // While Npgsql stops a synchronous command's activity, that activity is still the current one; when nothing
            // records it (only this listener asked for it), tie the warning to its parent, the span that is exported.
            var swap = !activity.Recorded && ReferenceEquals(Activity.Current, activity);
            if (swap)
            {
                Activity.Current = activity.Parent;
            }

            try
            {
                ReportSlow(_postgres, database, text, duration, errorType);
            }
            finally
            {
                // Stopping restores the previous activity itself; put this one back only if it still runs.
                if (swap && !activity.IsStopped)
                {
                    Activity.Current = activity;
                }
            }
        }
    }

    /// <summary>The end-of-request work, called by the middleware for a request that ran at least one command.</summary>
    public void CompleteRequest(RequestDbStats stats, EndpointInfo endpoint)
    {
        // Only this feature sets a request's statistics, so they are always its own kind.
        var db = (RequestQueryStats)stats;
        try
        {
            if (_metrics is not null && !endpoint.IsOwnEndpoint)
            {
                _metrics.CommandsFor(endpoint.MetricLabel).Observe(db.Commands);
            }

            var threshold = RepeatedQueryThreshold;
            if (threshold <= 0 || db.MaxRepeat < threshold)
            {
                return;
            }

            foreach (var shape in db.Repeated(threshold))
            {
                _metrics?.RepeatedFor(endpoint.MetricLabel).Inc();
                if (_logger.IsEnabled(LogLevel.Warning) && TryTakeWarning())
                {
                    var system = shape.System!;
                    _logger.RepeatedQuery(system.Name, shape.Count, endpoint.MetricLabel, threshold,
                        SqlText.Format(shape.Text!, _redactLiterals, _maxCommandTextLength, system.Dialect));
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The request's completion event comes next and must not be lost to this.
            Serilog.Debugging.SelfLog.WriteLine("Observability: the end-of-request query check failed: {0}", ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>Takes one warning from this second's budget; false (and counted for the summary) when it is spent.</summary>
    public bool TryTakeWarning() => _budget.TryTake();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            NpgsqlCommandListener.Register(this);
        }

        _ticking ??= _heartbeat.Register("Slow-query monitor", Tick);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        Tick();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Unregister();
        Interlocked.Exchange(ref _ticking, null)?.Dispose();
    }

    /// <summary>One pass of the timer: this second's summary of suppressed warnings.</summary>
    internal void Tick()
    {
        var suppressed = _budget.TakeSuppressed();
        if (suppressed > 0)
        {
            _logger.WarningsSuppressed(suppressed, _budget.MaxPerSecond);
        }
    }

    /// <summary>Feeds the metrics and the request's statistics; true when the command was slow.</summary>
    private bool Record(HttpContext? context, DbSystemSeries system, string? text, TimeSpan duration)
    {
        system.Duration?.Observe(duration.TotalSeconds);
        if (context is not null && RequestScope.Find(context) is { } scope)
        {
            var stats = (RequestQueryStats)(scope.Db ?? scope.SetDbOnce(new RequestQueryStats()));
            stats.Add(duration, text, system, RepeatedQueryThreshold > 0);
        }

        return duration.Ticks > _thresholdTicks;
    }

    private void ReportSlow(DbSystemSeries system, string? database, string? text, TimeSpan duration, string? errorType)
    {
        system.Slow?.Inc();
        if (!_logger.IsEnabled(LogLevel.Warning) || !TryTakeWarning())
        {
            return;
        }

        var commandText = SqlText.Format(text ?? string.Empty, _redactLiterals, _maxCommandTextLength, system.Dialect);
        var durationMs = Math.Round(duration.TotalMilliseconds, 1);
        if (errorType is null)
        {
            _logger.SlowQuery(system.Name, database ?? string.Empty, durationMs, ThresholdMs, commandText);
        }
        else
        {
            _logger.SlowQueryFailed(system.Name, database ?? string.Empty, errorType, durationMs, ThresholdMs, commandText);
        }
    }

    private CommandKind KindOf(Type type)
    {
        var last = Volatile.Read(ref _lastKind);
        if (last?.Type == type)
        {
            return last;
        }

        var kind = _kinds.GetOrAdd(type, _createKind);
        Volatile.Write(ref _lastKind, kind);
        return kind;
    }

    private CommandKind CreateKind(Type type)
    {
        var (system, dialect) = DbSystems.Identify(type);
        return new CommandKind(type, SystemSeries(system, dialect), DbSystems.IsNpgsqlCommand(type));
    }

    private DbSystemSeries SystemSeries(string name, SqlDialect dialect) =>
        _systems.GetOrAdd(name, static (n, state) => new DbSystemSeries(
            n,
            state.Dialect,
            state.Metrics?.QueryDuration.WithLabels(n),
            state.Metrics?.SlowQueries.WithLabels(n)), (Dialect: dialect, Metrics: _metrics));

    private static string? DatabaseOf(DbCommand command)
    {
        try
        {
            return command.Connection?.Database;
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>The exception's short type name from the activity's <c>exception</c> event, else its <c>error.type</c>.</summary>
    private static string ErrorTypeOf(Activity activity)
    {
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (e.Name == ExceptionEvent)
            {
                foreach (ref readonly var tag in e.EnumerateTagObjects())
                {
                    if (tag.Key == ExceptionTypeTag && tag.Value is string type)
                    {
                        return ShortTypeName(type);
                    }
                }
            }
        }

        return activity.GetTagItem(ErrorTypeTag) is string errorType ? ShortTypeName(errorType) : activity.StatusDescription ?? "Error";
    }

    private static string ShortTypeName(string fullName)
    {
        var dot = fullName.LastIndexOf('.');
        return dot >= 0 && dot < fullName.Length - 1 ? fullName[(dot + 1)..] : fullName;
    }

    private void Unregister()
    {
        if (Interlocked.Exchange(ref _registered, 2) == 1)
        {
            NpgsqlCommandListener.Unregister(this);
        }
    }

    private sealed class CommandKind(Type type, DbSystemSeries system, bool isNpgsql)
    {
        public Type Type { get; } = type;

        public DbSystemSeries System { get; } = system;

        public bool IsNpgsql { get; } = isNpgsql;
    }
}
