using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// Makes an exception the middleware turned into a response visible the way ASP.NET Core's own exception handler
/// does, because error trackers (Sentry, Application Insights, Elastic APM, OpenTelemetry) find it only there: the
/// exception-handler features, the <c>HandledException</c> diagnostic event, the request's activity and its metric tag.
/// Runs only when an exception was caught, never on a successful request.
/// </summary>
internal static class HandledExceptions
{
    /// <summary>The event <c>ExceptionHandlerMiddleware</c> writes on the host's <c>Microsoft.AspNetCore</c> listener.</summary>
    public const string DiagnosticEventName = "Microsoft.AspNetCore.Diagnostics.HandledException";

    /// <summary>The OpenTelemetry attribute for the kind of error (the exception's full type name).</summary>
    public const string ErrorTypeTag = "error.type";

    public static void Report(HttpContext context, Exception exception)
    {
        try
        {
            ReportCore(context, exception);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber that throws (a listener, an activity's exception recorder) must not replace the request's own
            // exception, nor cost it its 500, its X-Request-ID and its completion event.
            StderrSelfLog.Post($"Observability: reporting a handled exception to diagnostics subscribers failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static void ReportCore(HttpContext context, Exception exception)
    {
        var feature = new ExceptionHandlerFeature
        {
            Error = exception,
            Path = context.Request.Path.Value ?? "/",
            Endpoint = context.GetEndpoint(),
            RouteValues = context.Features.Get<IRouteValuesFeature>()?.RouteValues,
        };
        context.Features.Set<IExceptionHandlerFeature>(feature);
        context.Features.Set<IExceptionHandlerPathFeature>(feature);

        var errorType = exception.GetType().FullName;
        if (Activity.Current is { } activity)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag(ErrorTypeTag, errorType);
            activity.AddException(exception);
        }

        // ASP.NET Core's http.server.request.duration gets the exception type, as its exception handler gives it; a
        // handler further in that already tagged the request keeps its tag.
        if (context.Features.Get<IHttpMetricsTagsFeature>() is { } metricTags && !HasTag(metricTags, ErrorTypeTag))
        {
            metricTags.Tags.Add(new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
        }

        if (context.RequestServices?.GetService<DiagnosticListener>() is { } listener && listener.IsEnabled(DiagnosticEventName))
        {
            Write(listener, context, exception);
        }
    }

    private static bool HasTag(IHttpMetricsTagsFeature feature, string key)
    {
        foreach (var tag in feature.Tags)
        {
            if (tag.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    // The payload's shape is the framework's: subscribers read the properties httpContext and exception by name.
    private static void Write(DiagnosticListener listener, HttpContext httpContext, Exception exception) =>
        listener.Write(DiagnosticEventName, new { httpContext, exception });
}
