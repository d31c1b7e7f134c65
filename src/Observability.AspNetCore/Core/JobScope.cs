using System.Diagnostics;
using Serilog.Events;

namespace Observability.AspNetCore.Core;

/// <summary>
/// Per-run state of a background job: what the log enricher adds to every event written while the run executes
/// (<c>JobName</c>, <c>JobRunId</c>, the enqueuing request's <c>RequestId</c>). Flows with the run's execution context,
/// as <c>HttpContext</c> does with a request's; its properties are made on the first event that needs them.
/// </summary>
internal sealed class JobScope(string jobName, string jobRunId, string? originRequestId, ActivityContext originTrace)
{
    private static readonly AsyncLocal<JobScope?> CurrentScope = new();

    private LogEventProperty? _jobName;
    private LogEventProperty? _jobRunId;
    private LogEventProperty? _requestId;

    /// <summary>The run executing in this execution context, if any.</summary>
    public static JobScope? Current
    {
        get => CurrentScope.Value;
        set => CurrentScope.Value = value;
    }

    public string JobName { get; } = jobName;

    public string JobRunId { get; } = jobRunId;

    /// <summary>The enqueuing request's ID, when the app passed its origin along.</summary>
    public string? OriginRequestId { get; } = originRequestId;

    /// <summary>The enqueuing request's trace context (default when unknown): a run links to it, never parents under it.</summary>
    public ActivityContext OriginTrace { get; } = originTrace;

    public LogEventProperty JobNameProperty => _jobName ??= new LogEventProperty(LogPropertyNames.JobName, new ScalarValue(JobName));

    public LogEventProperty JobRunIdProperty => _jobRunId ??= new LogEventProperty(LogPropertyNames.JobRunId, new ScalarValue(JobRunId));

    public LogEventProperty? RequestIdProperty => OriginRequestId is null
        ? null
        : _requestId ??= new LogEventProperty(LogPropertyNames.RequestId, new ScalarValue(OriginRequestId));
}
