using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.SlowRequests;

/// <summary>
/// The app-wide side of slow-request detection: the warning budget (at most N warnings a second, the rest summarised)
/// and hung-request detection. Hung detection is one timer for the whole app scanning a fixed array of in-flight
/// requests; a request's cost is claiming a slot with one compare-exchange and clearing it: no lock, no allocation.
/// </summary>
internal sealed class SlowRequestMonitor : IHostedService, IDisposable
{
    public const string LoggerCategory = "Observability.AspNetCore.SlowRequests";

    // Requests beyond this many at once are served as usual but not watched for hanging: a bound, not a queue.
    private const int SlotCount = 8192;
    private const int MaxProbes = 8;

    private readonly RequestScope?[] _slots;
    private readonly ILogger _logger;
    private readonly long _hungAfterTicks;
    private readonly WarningBudget _budget;
    private readonly Heartbeat _heartbeat;
    private readonly Counter? _slowRequests;
    private int _nextSlot;
    private IDisposable? _ticking;

    public SlowRequestMonitor(IOptions<ObservabilityOptions> options, ILoggerFactory loggerFactory, Heartbeat heartbeat, WarningBudget budget, MetricsRegistry metrics)
    {
        _slowRequests = metrics.Enabled
            ? metrics.Families.CreateCounter(MetricFamilies.HttpSlowRequests, "Requests slower than their slow-request threshold, by method and route template.", "method", "endpoint")
            : null;
        _heartbeat = heartbeat;
        var o = options.Value.SlowRequests;
        _logger = loggerFactory.CreateLogger(LoggerCategory);
        _budget = budget;
        HungAfterMs = o.HungAfterMs;
        _hungAfterTicks = (long)(o.HungAfterMs * (Stopwatch.Frequency / 1000.0));
        _slots = o.HungAfterMs > 0 ? new RequestScope?[SlotCount] : [];
    }

    public int HungAfterMs { get; }

    /// <summary>
    /// The end-of-request check, called by the middleware once the endpoint is known: a finished request over its
    /// endpoint's threshold is counted and, within the warning budget, logged. <paramref name="methodIndex"/> is the
    /// request's <see cref="HttpMethodLabels"/> index, or negative when the request is not measured.
    /// </summary>
    public void OnCompleted(HttpContext context, RequestScope scope, EndpointInfo endpoint, int statusCode, double elapsedMs, int methodIndex, bool aborted)
    {
        if (aborted || endpoint.IsOwnEndpoint || scope.ExcludedFromSlowDetection || endpoint.SlowThresholdMs <= 0
            || elapsedMs <= endpoint.SlowThresholdMs || endpoint.IsStreaming || EventStream.Is(context.Response.ContentType))
        {
            return;
        }

        if (methodIndex >= 0)
        {
            _slowRequests?.WithLabels(HttpMethodLabels.Values[methodIndex], endpoint.MetricLabel).Inc();
        }

        if (TryTakeWarning())
        {
            _logger.SlowRequest(context.Request.Method, context.Request.Path.Value ?? "/", endpoint.MetricLabel, statusCode, Math.Round(elapsedMs, 1), endpoint.SlowThresholdMs);
        }
    }

    /// <summary>Watches the request for hanging; returns its slot, or -1 when hung detection is off or every slot is taken.</summary>
    public int Register(RequestScope scope)
    {
        if (_slots.Length == 0)
        {
            return -1;
        }

        for (var probe = 0; probe < MaxProbes; probe++)
        {
            var slot = (int)((uint)Interlocked.Increment(ref _nextSlot) % SlotCount);
            if (Interlocked.CompareExchange(ref _slots[slot], scope, null) is null)
            {
                return slot;
            }
        }

        return -1;
    }

    public void Unregister(int slot)
    {
        if (slot >= 0)
        {
            Volatile.Write(ref _slots[slot], null);
        }
    }

    /// <summary>Takes one warning from the last second's budget; false (and counted for the summary) when it is spent.</summary>
    public bool TryTakeWarning() => _budget.TryTake();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ticking ??= _heartbeat.Register("Slow-request monitor", Tick);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => Interlocked.Exchange(ref _ticking, null)?.Dispose();

    /// <summary>One pass of the timer: report requests that just crossed the hung threshold, then this second's summary.</summary>
    internal void Tick()
    {
        if (_slots.Length > 0)
        {
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < _slots.Length; i++)
            {
                var scope = Volatile.Read(ref _slots[i]);
                if (scope is null || scope.HungReported || scope.ExcludedFromSlowDetection || now - scope.StartTimestamp < _hungAfterTicks)
                {
                    continue;
                }

                scope.HungReported = true;
                if (TryTakeWarning())
                {
                    ReportHung(scope);
                }
            }
        }

        var suppressed = _budget.TakeSuppressed();
        if (suppressed > 0)
        {
            _logger.WarningsSuppressed(suppressed, _budget.MaxPerSecond);
        }
    }

    /// <summary>
    /// Written on the timer's thread, outside the request: the request's activity is made current for the write, so
    /// the warning carries the request's <c>@tr</c>/<c>@sp</c> like every other event of it.
    /// </summary>
    private void ReportHung(RequestScope scope)
    {
        var activity = scope.Activity;
        var previous = Activity.Current;
        // A stopped activity cannot be made current (the setter refuses it); the warning then has no trace context.
        var swap = activity is { IsStopped: false } && !ReferenceEquals(previous, activity);
        if (swap)
        {
            Activity.Current = activity;
        }

        try
        {
            _logger.HungRequest(scope.Method!, scope.Path!, scope.StartEndpoint?.MetricLabel ?? EndpointInfo.UnmatchedLabel,
                Math.Round(Stopwatch.GetElapsedTime(scope.StartTimestamp).TotalMilliseconds, 1), scope.RequestId);
        }
        finally
        {
            if (swap)
            {
                Activity.Current = previous;
            }
        }
    }
}
