namespace Observability.AspNetCore;

/// <summary>
/// Traces exported over OTLP (<c>Observability:Otlp</c>). Off unless an endpoint is configured here or in the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable; when off, nothing of tracing runs per request.
/// </summary>
public sealed class OtlpOptions
{
    /// <summary>The <c>grpc</c> protocol (<see cref="Protocol"/>): OTLP over gRPC, usually port 4317. The default.</summary>
    public const string GrpcProtocol = "grpc";

    /// <summary>The <c>http/protobuf</c> protocol (<see cref="Protocol"/>): OTLP over HTTP, usually port 4318.</summary>
    public const string HttpProtobufProtocol = "http/protobuf";

    /// <summary>
    /// The collector's base URL (<c>Observability:Otlp:Endpoint</c>, e.g. <c>http://otel-collector:4318</c>), read as
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is: over <c>http/protobuf</c> the signal path <c>/v1/traces</c> is appended.
    /// Default: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>; with neither, tracing is off. Only configuration (appsettings,
    /// environment, command line) turns tracing on: the services are chosen before options set in code exist.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// <c>grpc</c> or <c>http/protobuf</c> (<c>Observability:Otlp:Protocol</c>). Default: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
    /// else <c>grpc</c>, the OpenTelemetry .NET exporter's default.
    /// </summary>
    public string? Protocol { get; set; }

    /// <summary>
    /// Headers sent with every export, such as a vendor's API key (<c>Observability:Otlp:Headers</c>, e.g.
    /// <c>{ "x-honeycomb-team": "..." }</c>). Values are secrets: no message or log shows them. Default:
    /// <c>OTEL_EXPORTER_OTLP_HEADERS</c>.
    /// </summary>
    public IDictionary<string, string>? Headers { get; set; }

    /// <summary>
    /// The share of new traces recorded, 0 to 1 (<c>Observability:Otlp:SamplingRatio</c>, default 1: all). A request that
    /// arrives with a sampled or unsampled <c>traceparent</c> follows its caller's decision (parent-based sampling).
    /// </summary>
    public double SamplingRatio { get; set; } = 1.0;

    /// <summary>
    /// Export every log event, the completion event included, as an OTLP log record to the same endpoint, with the
    /// same protocol and headers as the spans (<c>Observability:Otlp:Logs</c>); stdout is written as before. Default:
    /// on when <c>OTEL_LOGS_EXPORTER</c> names <c>otlp</c>, else off. Needs an endpoint.
    /// </summary>
    public bool? Logs { get; set; }
}
