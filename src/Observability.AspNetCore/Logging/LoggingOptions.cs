using Microsoft.Extensions.Logging;

namespace Observability.AspNetCore;

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
