namespace Observability.AspNetCore.Core;

/// <summary>
/// Every event ID the library logs, in one table: frozen once shipped, because users filter and alert on them. Each
/// constant's name is its event's <c>EventName</c>. Ranges per feature: RequestId 1000+, Logging 1050+, Metrics 1100+,
/// SlowRequests 1200+, SlowQueries 1300+, Health 1400+, Jobs 1500+, Tracing 1600+.
/// </summary>
internal static class EventIds
{
    // Logging
    public const int RequestCompleted = 1050;

    // SlowRequests
    public const int SlowRequest = 1200;
    public const int HungRequest = 1201;
    public const int SlowRequestWarningsSuppressed = 1202;

    // SlowQueries
    public const int SlowQuery = 1300;
    public const int SlowQueryFailed = 1301;
    public const int RepeatedQuery = 1302;
    public const int QueryWarningsSuppressed = 1303;

    // Health
    public const int HealthCheckFailed = 1400;
    public const int HealthCheckRecovered = 1401;
    public const int HealthCheckStillRunning = 1402;
    public const int ShutdownDrainStarted = 1403;

    // Jobs
    public const int JobRunCompleted = 1500;
    public const int SlowJobRun = 1501;
    public const int JobNamesCapped = 1502;

    // Tracing
    public const int TracingEnabled = 1600;
    public const int OtlpExportFailed = 1601;
    public const int OtlpLogsEnabled = 1602;
    public const int OtlpLogExportFailed = 1603;
}
