using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Metrics;
using Observability.AspNetCore.RequestId;
using Observability.AspNetCore.SlowQueries;
using Observability.AspNetCore.SlowRequests;
using Serilog.Events;

namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// The library's one pass per request: resolve the request ID, time the request, turn an unhandled exception into a
/// 500 that still carries the request ID, and write the completion event. The order between the features lives here,
/// not in middleware registration order.
/// </summary>
internal sealed class ObservabilityMiddleware
{
    public const string ResponseTimeHeader = "X-Response-Time";

    private static readonly Func<object, Task> OnStartingCallback = static state =>
    {
        var scope = (RequestScope)state;
        var headers = scope.Context!.Response.Headers;
        headers[scope.Header!] = scope.RequestId;
        headers[ResponseTimeHeader] = FormatResponseTime(Stopwatch.GetElapsedTime(scope.StartTimestamp).TotalMilliseconds);

        // An event stream the client did not ask for by Accept is known only now: recorded for the hung-request scan,
        // which runs on another thread and must not read the (unsynchronised) header dictionary itself.
        if (!scope.ExcludedFromSlowDetection && EventStream.Is(headers.ContentType))
        {
            scope.ExcludedFromSlowDetection = true;
        }

        return Task.CompletedTask;
    };

    private const int NotMeasured = -1;

    /// <summary>
    /// The texts of 0.00ms to 9.99ms, filled as they are first needed: most responses start within 10 ms, and a
    /// cached text saves the formatting and the string on every such request. At most 1,000 short strings.
    /// </summary>
    private static readonly string?[] ShortResponseTimes = new string?[1000];

    private readonly RequestDelegate _next;
    private readonly string _header;
    private readonly RequestCompletionLogger _completion;
    private readonly EndpointInfoCache _endpoints;
    private readonly RequestMetrics? _metrics;
    private readonly bool _traceExemplars;
    private readonly SlowRequestMonitor _slow;
    private readonly SlowQueryMonitor _queries;

    public ObservabilityMiddleware(RequestDelegate next, IOptions<ObservabilityOptions> options, RequestCompletionLogger completion, EndpointInfoCache endpoints, SlowRequestMonitor slow, IServiceProvider services)
    {
        _next = next;
        _header = options.Value.RequestId.Header;
        _completion = completion;
        _endpoints = endpoints;
        _slow = slow;
        _queries = services.GetRequiredService<SlowQueryMonitor>();
        _metrics = options.Value.Metrics.Enabled ? services.GetRequiredService<RequestMetrics>() : null;
        _traceExemplars = _metrics?.AttachesTraceExemplars == true;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var scope = RequestScope.GetOrCreate(context, _header);
        scope.Start(context, _header, start);
        context.Response.OnStarting(OnStartingCallback, scope);

        // The endpoint is usually known here already (WebApplication routes before the first middleware); when it is
        // not, own endpoints are recognised again after the handler ran and left out of the counts then.
        var startEndpoint = EndpointOf(context) is { } routedAtStart ? _endpoints.Get(routedAtStart) : null;
        scope.StartEndpoint = startEndpoint;
        var methodIndex = _metrics is not null && startEndpoint?.IsOwnEndpoint != true && !_metrics.IsExcludedPath(context.Request.Path)
            ? HttpMethodLabels.IndexOf(context.Request.Method)
            : NotMeasured;
        if (methodIndex != NotMeasured)
        {
            _metrics!.InProgressFor(methodIndex).Inc();
        }

        scope.ExcludedFromSlowDetection = startEndpoint is { } known && (known.IsOwnEndpoint || known.IsStreaming || known.SlowThresholdMs == 0)
            || IsWebSocketRequest(context)
            || EventStream.Is(context.Request.Headers.Accept);
        var slot = scope.ExcludedFromSlowDetection ? -1 : _slow.Register(scope);

        Task next;
        try
        {
            next = _next(context);
        }
        catch (Exception ex)
        {
            // A handler that throws before its first await takes the same path as one whose task faults.
            next = Task.FromException(ex);
        }

        if (!next.IsCompletedSuccessfully)
        {
            return AwaitNextAsync(next, context, scope, start, slot, methodIndex);
        }

        // The handler already finished (no await was pending): finish here, without an async state machine.
        EndInFlight(slot, methodIndex);
        Complete(context, scope, start, failure: null, methodIndex, failedStatus: 0, serverAborted: false);
        return Task.CompletedTask;
    }

    private async Task AwaitNextAsync(Task next, HttpContext context, RequestScope scope, long start, int slot, int methodIndex)
    {
        Exception? failure = null;
        var failedStatus = 0;
        var serverAborted = false;
        try
        {
            try
            {
                await next;
            }
            catch (BadHttpRequestException bad) when (!context.RequestAborted.IsCancellationRequested)
            {
                // A request the server or model binding could not read (malformed JSON, a missing parameter, a body
                // over the size limit): the client's error, answered with its status (400, 413, ...), not a 500.
                if (!context.Response.HasStarted)
                {
                    await WriteProblemResponseAsync(context, scope, bad.StatusCode);
                }
                else
                {
                    context.Abort();
                }
            }
            catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
            {
                failure = ex;
                failedStatus = context.Response.StatusCode;
                HandledExceptions.Report(context, ex);
                if (!context.Response.HasStarted)
                {
                    await WriteProblemResponseAsync(context, scope, StatusCodes.Status500InternalServerError);
                }
                else
                {
                    // Half a response is already on the wire: the only honest signal left is to reset the connection.
                    // Not rethrowing keeps the exception logged once (here) instead of again by the server.
                    serverAborted = true;
                    context.Abort();
                }
            }
            catch (Exception ex) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away. A cancellation is how a handler notices: not an error. Anything else failed on
                // its own (a database timeout as the client gives up): Complete reports it at Warning, never as a 500.
                if (!IsCausedByAbort(ex))
                {
                    failure = ex;
                    failedStatus = context.Response.StatusCode;
                }
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested && !serverAborted)
        {
            // The client went away while the 500 was being written (a cancelled write): the request still gets its event.
        }
        finally
        {
            EndInFlight(slot, methodIndex);
        }

        Complete(context, scope, start, failure, methodIndex, failedStatus, serverAborted);
    }

    /// <summary>
    /// Whether an exception seen after the client went away is only the handler noticing: a cancellation, a request
    /// body cut short, a reset connection, also when a data layer wrapped one of them in its own exception.
    /// </summary>
    private static bool IsCausedByAbort(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException or BadHttpRequestException or IOException)
            {
                return true;
            }
        }

        return false;
    }

    private void EndInFlight(int slot, int methodIndex)
    {
        _slow.Unregister(slot);
        if (methodIndex != NotMeasured)
        {
            _metrics!.InProgressFor(methodIndex).Dec();
        }
    }

    /// <summary>
    /// <c>HttpContext.GetEndpoint()</c> through the feature indexer: <c>Features.Get&lt;T&gt;()</c> is a generic
    /// virtual call, resolved at run time on every request (~20 ns each under load, by profile, twice per request).
    /// </summary>
    private static Endpoint? EndpointOf(HttpContext context) =>
        (context.Features[typeof(IEndpointFeature)] as IEndpointFeature)?.Endpoint;

    /// <summary>
    /// A WebSocket handshake (HTTP/1.1 <c>Upgrade</c>, or HTTP/2 extended <c>CONNECT</c>). The two header and method
    /// checks come first: the WebSocket feature is absent unless the app uses WebSockets, and looking up an absent
    /// feature walks the server's whole feature list on every request.
    /// </summary>
    private static bool IsWebSocketRequest(HttpContext context) =>
        (context.Request.Headers.Upgrade.Count > 0 || HttpMethods.IsConnect(context.Request.Method))
        && context.WebSockets.IsWebSocketRequest;

    // failedStatus: the status the handler had set when it threw, before the library's 500. serverAborted: the library
    // reset the connection itself (a failure after the response started), so the client did not abort.
    private void Complete(HttpContext context, RequestScope scope, long start, Exception? failure, int methodIndex, int failedStatus, bool serverAborted)
    {
        var end = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(start, end);
        var elapsedMs = elapsed.TotalMilliseconds;
        var aborted = !serverAborted && context.RequestAborted.IsCancellationRequested;

        // A request the client abandoned is never the library's 500, in logs or metrics: no response reached anyone.
        var statusCode = aborted && failure is not null ? failedStatus : context.Response.StatusCode;

        // Usually the endpoint routing chose before the middleware ran; looked up again only when it changed.
        var routed = EndpointOf(context);
        var endpoint = scope.StartEndpoint is { } started && ReferenceEquals(routed, started.Endpoint) ? started : _endpoints.Get(routed);

        if (methodIndex != NotMeasured && !endpoint.IsOwnEndpoint)
        {
            // One observation: http_requests_total is this histogram's count (see RequestMetrics). Exemplar.None, not
            // null: null would make prometheus-net ask its exemplar provider on every request.
            ((EndpointSeries)endpoint.MetricSeries!).Get(_metrics!, methodIndex, statusCode).Duration.Observe(
                elapsed.TotalSeconds, _traceExemplars ? TraceExemplars.FromRecordedActivity() : Prometheus.Exemplar.None);
            if (failure is not null)
            {
                _metrics!.Exceptions.WithLabels(HttpMethodLabels.Values[methodIndex], endpoint.MetricLabel, failure.GetType().Name).Inc();
            }
        }

        _slow.OnCompleted(context, scope, endpoint, statusCode, elapsedMs, methodIndex, aborted);

        if (scope.Db is { } db)
        {
            _queries.CompleteRequest(db, endpoint);
        }

        // An own endpoint's 503 is its answer (a failing check, a drain), not a failure: only an exception raises its level.
        LogEventLevel? level = failure is not null ? (aborted ? LogEventLevel.Warning : LogEventLevel.Error)
            : endpoint.IsOwnEndpoint ? _completion.OwnEndpointsLevel
            : statusCode >= 500 && !aborted ? LogEventLevel.Error : LogEventLevel.Information;
        if (level is { } l && _completion.IsEnabled(l))
        {
            _completion.Write(context, scope, endpoint, l, statusCode, end, elapsedMs, failure, aborted);
        }
    }

    private static async Task WriteProblemResponseAsync(HttpContext context, RequestScope scope, int statusCode)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = statusCode;

        var problem = new ProblemDetails
        {
            Status = statusCode,
            Title = statusCode == StatusCodes.Status500InternalServerError ? "An unexpected error occurred." : ReasonPhrases.GetReasonPhrase(statusCode),
            Type = statusCode == StatusCodes.Status500InternalServerError ? "https://tools.ietf.org/html/rfc9110#section-15.6.1" : null,
            Extensions = { [ProblemDetailsRequestId.ExtensionName] = scope.RequestId },
        };

        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            return;
        }

        response.ContentType = "application/problem+json";
        await JsonSerializer.SerializeAsync(response.Body, problem, ProblemDetailsJsonContext.Default.ProblemDetails, context.RequestAborted);
    }

    /// <summary>
    /// Milliseconds with up to two decimals and no trailing zeros, e.g. <c>12.34ms</c>, <c>12.3ms</c>, <c>12ms</c>: the
    /// text of <c>"0.##"</c>, built from integers because formatting a double costs ~3× as much, on every request.
    /// </summary>
    internal static string FormatResponseTime(double milliseconds)
    {
        var hundredths = (long)Math.Round(Math.Max(milliseconds, 0) * 100, MidpointRounding.AwayFromZero);
        if ((ulong)hundredths < (ulong)ShortResponseTimes.Length)
        {
            // Two threads may both build a missing text; either string is the same text.
            return ShortResponseTimes[hundredths] ??= FormatHundredths(hundredths);
        }

        return FormatHundredths(hundredths);
    }

    private static string FormatHundredths(long hundredths)
    {
        var whole = hundredths / 100;
        var fraction = (int)(hundredths % 100);
        Span<char> buffer = stackalloc char[32];
        whole.TryFormat(buffer, out var written, provider: CultureInfo.InvariantCulture);
        if (fraction != 0)
        {
            buffer[written++] = '.';
            buffer[written++] = (char)('0' + (fraction / 10));
            if (fraction % 10 != 0)
            {
                buffer[written++] = (char)('0' + (fraction % 10));
            }
        }

        buffer[written++] = 'm';
        buffer[written++] = 's';
        return new string(buffer[..written]);
    }
}
