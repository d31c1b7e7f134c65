using Microsoft.Extensions.Logging;

namespace Observability.AspNetCore.Tracing;

internal static partial class Log
{
    [LoggerMessage(EventId = 1600, EventName = "TracingEnabled", Level = LogLevel.Information,
        Message = "Exporting traces over OTLP ({OtlpProtocol}) to {OtlpEndpoint}, sampling ratio {SamplingRatio}")]
    public static partial void TracingEnabled(this ILogger logger, string otlpProtocol, Uri otlpEndpoint, double samplingRatio);
}
