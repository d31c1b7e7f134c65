using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.Core;
using Serilog.Core;
using Serilog.Events;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Adds <c>Service</c>, <c>Version</c> and <c>Environment</c> to every event; while a request runs, its <c>RequestId</c>;
/// while a job runs, its <c>JobName</c>, <c>JobRunId</c> and the enqueuing request's <c>RequestId</c>. Lazy by design:
/// the request ID is read from the request's <see cref="RequestScope"/> only when an
/// event is actually written, so a request that logs nothing pays nothing here. It replaces (not adds beside) the
/// <c>RequestId</c> that ASP.NET Core's hosting log scope carries, which is Kestrel's connection-based identifier.
/// </summary>
internal sealed class ObservabilityEnricher(
    IHttpContextAccessor accessor,
    string requestIdHeader,
    LogEventProperty service,
    LogEventProperty version,
    LogEventProperty environment,
    SensitiveDataRedactor redactor) : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        logEvent.AddPropertyIfAbsent(service);
        logEvent.AddPropertyIfAbsent(version);
        logEvent.AddPropertyIfAbsent(environment);

        if (accessor.HttpContext is { } context)
        {
            logEvent.AddOrUpdateProperty(RequestScope.GetOrCreate(context, requestIdHeader).RequestIdProperty);
        }

        if (JobScope.Current is { } job)
        {
            logEvent.AddPropertyIfAbsent(job.JobNameProperty);
            logEvent.AddPropertyIfAbsent(job.JobRunIdProperty);
            if (job.RequestIdProperty is { } origin)
            {
                // A run started inside a request keeps that request's ID; one enqueued by a request carries the enqueuer's.
                logEvent.AddPropertyIfAbsent(origin);
            }
        }

        if (!ReferenceEquals(logEvent.MessageTemplate, RequestCompletionLogger.Template) && !ReferenceEquals(logEvent.MessageTemplate, RequestCompletionLogger.AbortedTemplate))
        {
            redactor.Redact(logEvent);
        }
    }
}
