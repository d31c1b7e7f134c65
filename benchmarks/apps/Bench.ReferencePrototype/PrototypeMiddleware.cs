using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Prometheus;
using Serilog.Events;
using Serilog.Parsing;

namespace Observability.Benchmarks.Apps;

/// <summary>
/// The reference prototype's one middleware: request ID, timing and the two response headers, request metrics, the
/// slow-request check and one completion event per request through the Serilog pipeline.
/// </summary>
internal sealed class PrototypeMiddleware(RequestDelegate next, Serilog.ILogger log)
{
    private const string RequestIdHeader = "X-Request-ID";
    private const string ResponseTimeHeader = "X-Response-Time";
    private const double SlowRequestMs = 1000;

    private static readonly MessageTemplate Completed = new MessageTemplateParser().Parse("{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms");
    private static readonly string Prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5)) + "-";
    private static long s_counter;

    private static readonly Histogram Duration = Metrics.CreateHistogram(
        "http_request_duration_seconds", "HTTP request duration in seconds.", ["method", "endpoint", "status"],
        new HistogramConfiguration { ExemplarBehavior = ExemplarBehavior.NoExemplars() });
    private static readonly Gauge InProgress = Metrics.CreateGauge("http_requests_in_progress", "HTTP requests being served.");
    private static readonly Counter SlowRequests = Metrics.CreateCounter(
        "http_slow_requests_total", "Requests slower than the threshold.", ["method", "endpoint"],
        new CounterConfiguration { ExemplarBehavior = ExemplarBehavior.NoExemplars() });

    private static readonly ConcurrentDictionary<Endpoint, EndpointSeries> Endpoints = new();
    private static readonly EndpointSeries Unmatched = new("unmatched");
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"];

    private static readonly Func<object, Task> OnStarting = static state =>
    {
        var request = (RequestState)state;
        var headers = request.Context.Response.Headers;
        headers[RequestIdHeader] = request.RequestId;
        headers[ResponseTimeHeader] = FormatMilliseconds(Stopwatch.GetElapsedTime(request.Start).TotalMilliseconds);
        return Task.CompletedTask;
    };

    public Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var requestId = context.Request.Headers.TryGetValue(RequestIdHeader, out var incoming) && incoming.Count == 1 && IsValid(incoming[0])
            ? incoming[0]!
            : NewRequestId();
        context.TraceIdentifier = requestId;
        var state = new RequestState(context, requestId, start);
        context.Response.OnStarting(OnStarting, state);
        InProgress.Inc();

        Task task;
        try
        {
            task = next(context);
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        if (!task.IsCompletedSuccessfully)
        {
            return AwaitAsync(task, state);
        }

        InProgress.Dec();
        Complete(state, null);
        return Task.CompletedTask;
    }

    private async Task AwaitAsync(Task task, RequestState state)
    {
        Exception? failure = null;
        try
        {
            await task;
        }
        catch (Exception ex) when (!state.Context.RequestAborted.IsCancellationRequested)
        {
            failure = ex;
            var response = state.Context.Response;
            if (!response.HasStarted)
            {
                response.Clear();
                response.StatusCode = StatusCodes.Status500InternalServerError;
                response.ContentType = "application/problem+json";
                await response.WriteAsJsonAsync(new { status = 500, title = "An unexpected error occurred.", requestId = state.RequestId });
            }
            else
            {
                state.Context.Abort();
            }
        }
        finally
        {
            InProgress.Dec();
        }

        Complete(state, failure);
    }

    private void Complete(RequestState state, Exception? failure)
    {
        var context = state.Context;
        var elapsed = Stopwatch.GetElapsedTime(state.Start);
        var status = context.Response.StatusCode;
        var method = context.Request.Method;
        var methodIndex = MethodIndex(method);
        var endpoint = context.Features.Get<IEndpointFeature>()?.Endpoint;
        var series = endpoint is null ? Unmatched : Endpoints.GetOrAdd(endpoint, static e => new EndpointSeries((e as RouteEndpoint)?.RoutePattern.RawText ?? e.DisplayName ?? "other"));
        series.For(methodIndex, status).Observe(elapsed.TotalSeconds);

        var elapsedMs = elapsed.TotalMilliseconds;
        if (elapsedMs > SlowRequestMs)
        {
            SlowRequests.WithLabels(Methods[methodIndex], series.Route).Inc();
            log.Warning("Slow request {RequestMethod} {Route} took {Elapsed} ms", method, series.Route, elapsedMs);
        }

        var level = failure is not null || status >= 500 ? LogEventLevel.Error : LogEventLevel.Information;
        if (!log.IsEnabled(level))
        {
            return;
        }

        var activity = Activity.Current;
        var properties = new Dictionary<string, LogEventPropertyValue>(7)
        {
            [Names.RequestMethod] = new ScalarValue(method),
            [Names.RequestPath] = new ScalarValue(context.Request.Path.Value),
            [Names.StatusCode] = new ScalarValue(status),
            [Names.Elapsed] = new ScalarValue(Math.Round(elapsedMs, 3)),
            [Names.RequestId] = new ScalarValue(state.RequestId),
            [Names.Route] = new ScalarValue(series.Route),
        };
        log.Write(LogEvent.UnstableAssembleFromParts(
            DateTimeOffset.UtcNow, level, failure, Completed, properties,
            activity?.TraceId ?? default, activity?.SpanId ?? default));
    }

    private static string NewRequestId()
    {
        var n = Interlocked.Increment(ref s_counter);
        return string.Create(Prefix.Length + 8, n, static (span, value) =>
        {
            Prefix.CopyTo(span);
            value.TryFormat(span[Prefix.Length..], out _, "x8", CultureInfo.InvariantCulture);
        });
    }

    private static bool IsValid(string? value)
    {
        if (value is null || value.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    private static int MethodIndex(string method) => method switch
    {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        "DELETE" => 3,
        "PATCH" => 4,
        "HEAD" => 5,
        "OPTIONS" => 6,
        _ => 7,
    };

    /// <summary>Milliseconds with up to two decimals (<c>0.##</c>) followed by <c>ms</c>, from integers.</summary>
    private static string FormatMilliseconds(double milliseconds)
    {
        var hundredths = (long)Math.Round(Math.Max(milliseconds, 0) * 100);
        Span<char> buffer = stackalloc char[32];
        (hundredths / 100).TryFormat(buffer, out var n, default, CultureInfo.InvariantCulture);
        var fraction = (int)(hundredths % 100);
        if (fraction != 0)
        {
            buffer[n++] = '.';
            buffer[n++] = (char)('0' + (fraction / 10));
            if (fraction % 10 != 0)
            {
                buffer[n++] = (char)('0' + (fraction % 10));
            }
        }

        buffer[n++] = 'm';
        buffer[n++] = 's';
        return new string(buffer[..n]);
    }

    private sealed record RequestState(HttpContext Context, string RequestId, long Start);

    /// <summary>An endpoint's route label and its histogram children, one per (method, status), created once.</summary>
    private sealed class EndpointSeries(string route)
    {
        private readonly ConcurrentDictionary<int, Histogram.Child> _children = new();

        public string Route { get; } = route;

        public Histogram.Child For(int methodIndex, int status) =>
            _children.TryGetValue((status * 8) + methodIndex, out var child)
                ? child
                : _children.GetOrAdd((status * 8) + methodIndex, Duration.WithLabels(Methods[methodIndex], Route, status.ToString(CultureInfo.InvariantCulture)));
    }

    private static class Names
    {
        public const string RequestMethod = "RequestMethod";
        public const string RequestPath = "RequestPath";
        public const string StatusCode = "StatusCode";
        public const string Elapsed = "Elapsed";
        public const string RequestId = "RequestId";
        public const string Route = "Route";
    }
}
