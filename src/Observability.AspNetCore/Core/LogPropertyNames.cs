namespace Observability.AspNetCore.Core;

/// <summary>One vocabulary of property names across every event the library writes.</summary>
internal static class LogPropertyNames
{
    public const string RequestId = "RequestId";
    public const string RequestMethod = "RequestMethod";
    public const string RequestPath = "RequestPath";
    public const string Route = "Route";
    public const string StatusCode = "StatusCode";
    public const string Elapsed = "Elapsed";
    public const string ClientIp = "ClientIp";
    public const string UserId = "UserId";
    public const string Aborted = "Aborted";
    public const string DbCommands = "DbCommands";
    public const string DbElapsed = "DbElapsed";
    public const string Service = "Service";
    public const string Version = "Version";
    public const string Environment = "Environment";
    public const string EventId = "EventId";
    public const string SourceContext = "SourceContext";
    public const string JobName = "JobName";
    public const string JobRunId = "JobRunId";
}
