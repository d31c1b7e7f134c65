using Microsoft.Extensions.Logging;

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

/// <summary>Request ID settings, bound from <c>Observability:RequestId</c>.</summary>
public sealed class RequestIdOptions
{
    /// <summary>The default request ID header name: <c>X-Request-ID</c>.</summary>
    public const string DefaultHeader = "X-Request-ID";

    /// <summary>
    /// The header that carries the request ID in and out (<c>Observability:RequestId:Header</c>, default <c>X-Request-ID</c>).
    /// An incoming value is kept when it is 1–128 characters of letters, digits and <c>-_.:</c>; otherwise a new ID is generated.
    /// </summary>
    public string Header { get; set; } = DefaultHeader;
}

/// <summary>The shape of the log output on stdout.</summary>
public enum LogFormat
{
    /// <summary>One compact JSON object per line (CLEF). The default.</summary>
    Json = 0,

    /// <summary>Human-readable text lines, for a developer's terminal.</summary>
    Text = 1,
}

/// <summary>Logging settings, bound from <c>Observability:Logging</c>.</summary>
public sealed class LoggingOptions
{
    /// <summary>The query-string keys whose values are redacted by default.</summary>
    public static readonly IReadOnlyList<string> DefaultSensitiveQueryKeys = ["password", "token", "secret", "key", "code", "signature"];

    /// <summary>The stdout format (<c>Observability:Logging:Format</c>: <c>Json</c> or <c>Text</c>; default <c>Json</c>).</summary>
    public LogFormat Format { get; set; } = LogFormat.Json;

    /// <summary>Whether the completion event carries <c>ClientIp</c> (<c>Observability:Logging:IncludeClientIp</c>, default true). Personal data.</summary>
    public bool IncludeClientIp { get; set; } = true;

    /// <summary>Whether the completion event carries <c>UserId</c> for authenticated users (<c>Observability:Logging:IncludeUserId</c>, default true). Personal data.</summary>
    public bool IncludeUserId { get; set; } = true;

    /// <summary>
    /// The level of the completion event for requests to the library's own endpoints, such as health and metrics
    /// (<c>Observability:Logging:OwnEndpointsLevel</c>, default <c>Debug</c>, so they stay out of an Information log).
    /// </summary>
    public LogLevel OwnEndpointsLevel { get; set; } = LogLevel.Debug;

    /// <summary>
    /// The most bytes of log lines held for stdout while it is slow or not read (<c>Observability:Logging:StdoutBufferBytes</c>,
    /// default 8388608, 8 MiB, at least 131072). Requests never wait on stdout: when this is full, new lines are dropped
    /// whole and counted in <c>log_lines_dropped_total</c>. Memory is taken only as lines wait.
    /// </summary>
    public int StdoutBufferBytes { get; set; } = DefaultStdoutBufferBytes;

    /// <summary>The default of <see cref="StdoutBufferBytes"/>: 8 MiB.</summary>
    public const int DefaultStdoutBufferBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Query-string keys (case-insensitive, matched when the key contains the entry) whose values are replaced by
    /// <c>[Redacted]</c> wherever a query string reaches a log event (<c>Observability:Logging:SensitiveQueryKeys</c>).
    /// Null (the default) means <see cref="DefaultSensitiveQueryKeys"/>; a configured list replaces the defaults.
    /// </summary>
    public IList<string>? SensitiveQueryKeys { get; set; }
}
