using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Logging;
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
        return Task.CompletedTask;
    };

    private readonly RequestDelegate _next;
    private readonly string _header;
    private readonly RequestCompletionLogger _completion;

    public ObservabilityMiddleware(RequestDelegate next, IOptions<ObservabilityOptions> options, RequestCompletionLogger completion)
    {
        _next = next;
        _header = options.Value.RequestId.Header;
        _completion = completion;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var scope = RequestScope.GetOrCreate(context, _header);
        scope.Start(context, _header, start);
        context.Response.OnStarting(OnStartingCallback, scope);

        Exception? failure = null;
        try
        {
            await _next(context);
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            failure = ex;
            if (!context.Response.HasStarted)
            {
                await WriteErrorResponseAsync(context, scope);
            }
            else
            {
                // Half a response is already on the wire: the only honest signal left is to reset the connection.
                // Not rethrowing keeps the exception logged once (here) instead of again by the server.
                context.Abort();
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the handler noticed. Not an error and not a 500: the completion event says Aborted.
        }

        Complete(context, scope, start, failure);
    }

    private void Complete(HttpContext context, RequestScope scope, long start, Exception? failure)
    {
        var elapsedMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var statusCode = context.Response.StatusCode;
        var aborted = context.RequestAborted.IsCancellationRequested;
        var endpoint = EndpointInfo.For(context.GetEndpoint());

        LogEventLevel? level = failure is not null || (statusCode >= 500 && !aborted)
            ? LogEventLevel.Error
            : endpoint.IsOwnEndpoint ? _completion.OwnEndpointsLevel : LogEventLevel.Information;
        if (level is { } l && _completion.IsEnabled(l))
        {
            _completion.Write(context, scope, endpoint, l, statusCode, elapsedMs, failure, aborted);
        }
    }

    private static async Task WriteErrorResponseAsync(HttpContext context, RequestScope scope)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = StatusCodes.Status500InternalServerError;

        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status500InternalServerError,
            Title = "An unexpected error occurred.",
            Type = "https://tools.ietf.org/html/rfc9110#section-15.6.1",
            Extensions = { ["requestId"] = scope.RequestId },
        };

        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            return;
        }

        response.ContentType = "application/problem+json";
        await JsonSerializer.SerializeAsync(response.Body, problem, ProblemDetailsJsonContext.Default.ProblemDetails, context.RequestAborted);
    }

    internal static string FormatResponseTime(double milliseconds)
    {
        Span<char> buffer = stackalloc char[32];
        milliseconds.TryFormat(buffer, out var written, "0.##", CultureInfo.InvariantCulture);
        buffer[written++] = 'm';
        buffer[written++] = 's';
        return new string(buffer[..written]);
    }
}
