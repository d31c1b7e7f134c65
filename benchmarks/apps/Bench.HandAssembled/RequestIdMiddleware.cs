using System.Diagnostics;
using Serilog.Context;

namespace Observability.Benchmarks.Apps;

/// <summary>
/// Request ID and response time the way most teams write it: take the incoming <c>X-Request-ID</c> or make a GUID,
/// echo it and the elapsed time in response headers from an <c>OnStarting</c> callback, and push it onto Serilog's
/// <c>LogContext</c> so the request-completion event carries it.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    private const string HeaderName = "X-Request-ID";

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = context.Request.Headers.TryGetValue(HeaderName, out var incoming) && !string.IsNullOrEmpty(incoming)
            ? incoming.ToString()
            : Guid.NewGuid().ToString();
        context.TraceIdentifier = requestId;

        var stopwatch = Stopwatch.StartNew();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[HeaderName] = requestId;
            context.Response.Headers["X-Response-Time"] = $"{stopwatch.Elapsed.TotalMilliseconds:0.##}ms";
            return Task.CompletedTask;
        });

        using (LogContext.PushProperty("RequestId", requestId))
        {
            await next(context);
        }
    }
}
