using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Tracing;

internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.TracingEnabled, EventName = nameof(EventIds.TracingEnabled), Level = LogLevel.Information,
        Message = "Exporting traces over OTLP ({OtlpProtocol}) to {OtlpEndpoint}, sampling ratio {SamplingRatio}")]
    public static partial void TracingEnabled(this ILogger logger, string otlpProtocol, Uri otlpEndpoint, double samplingRatio);

    [LoggerMessage(EventId = EventIds.OtlpExportFailed, EventName = nameof(EventIds.OtlpExportFailed), Level = LogLevel.Warning,
        Message = "Exporting spans to {OtlpEndpoint} failed: {DroppedSpans} spans dropped since the last warning (at most one a minute; see otlp_spans_dropped_total)")]
    public static partial void OtlpExportFailed(this ILogger logger, Uri otlpEndpoint, long droppedSpans);

    [LoggerMessage(EventId = EventIds.OtlpLogsEnabled, EventName = nameof(EventIds.OtlpLogsEnabled), Level = LogLevel.Information,
        Message = "Exporting log events over OTLP ({OtlpProtocol}) to {OtlpEndpoint}")]
    public static partial void OtlpLogsEnabled(this ILogger logger, string otlpProtocol, Uri otlpEndpoint);

    [LoggerMessage(EventId = EventIds.OtlpLogExportFailed, EventName = nameof(EventIds.OtlpLogExportFailed), Level = LogLevel.Warning,
        Message = "Exporting log records to {OtlpEndpoint} failed: {DroppedLogRecords} log records dropped since the last warning (at most one a minute; see otlp_log_records_dropped_total)")]
    public static partial void OtlpLogExportFailed(this ILogger logger, Uri otlpEndpoint, long droppedLogRecords);
}
