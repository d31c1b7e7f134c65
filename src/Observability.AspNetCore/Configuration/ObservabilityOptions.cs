namespace Observability.AspNetCore;

/// <summary>
/// Options of Observability.AspNetCore, bound from the <c>Observability</c> configuration section
/// (appsettings.json, environment variables such as <c>Observability__Logging__Format</c>, command line).
/// Validated at startup: a bad value stops the app with a message that names the key and the value.
/// </summary>
public sealed class ObservabilityOptions
{
    /// <summary>The configuration section the options bind from: <c>Observability</c>.</summary>
    public const string SectionName = "Observability";

    /// <summary>
    /// The service name written as <c>Service</c> on every log event (<c>Observability:ServiceName</c>).
    /// Default: the application name (<see cref="Microsoft.Extensions.Hosting.IHostEnvironment.ApplicationName"/>).
    /// </summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// The service version written as <c>Version</c> on every log event (<c>Observability:ServiceVersion</c>).
    /// Default: the informational version of the application's assembly, without the <c>+commit</c> suffix.
    /// </summary>
    public string? ServiceVersion { get; set; }

    /// <summary>Request ID settings (<c>Observability:RequestId</c>).</summary>
    public RequestIdOptions RequestId { get; } = new();

    /// <summary>Logging settings (<c>Observability:Logging</c>).</summary>
    public LoggingOptions Logging { get; } = new();

    /// <summary>Prometheus metrics settings (<c>Observability:Metrics</c>).</summary>
    public MetricsOptions Metrics { get; } = new();

    /// <summary>Slow- and hung-request detection (<c>Observability:SlowRequests</c>).</summary>
    public SlowRequestOptions SlowRequests { get; } = new();

    /// <summary>Slow- and repeated-query detection for database commands (<c>Observability:SlowQueries</c>).</summary>
    public SlowQueryOptions SlowQueries { get; } = new();

    /// <summary>Health endpoints settings (<c>Observability:Health</c>).</summary>
    public HealthOptions Health { get; } = new();

    /// <summary>Background jobs and workers (<c>Observability:Jobs</c>).</summary>
    public JobOptions Jobs { get; } = new();

    /// <summary>Traces exported over OTLP (<c>Observability:Otlp</c>); off unless an endpoint is configured.</summary>
    public OtlpOptions Otlp { get; } = new();
}
