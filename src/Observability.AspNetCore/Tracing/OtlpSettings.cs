using Microsoft.Extensions.Configuration;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// The OTLP endpoint and protocol after precedence: <c>Observability:Otlp:*</c>, then the standard
/// <c>OTEL_EXPORTER_OTLP_*</c> variables (read through configuration, which holds the environment), then defaults.
/// </summary>
internal sealed record OtlpSettings(string Endpoint, string EndpointSource, string Protocol, string ProtocolSource)
{
    public const string EndpointKey = "Observability:Otlp:Endpoint";
    public const string ProtocolKey = "Observability:Otlp:Protocol";
    public const string EnvironmentEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string EnvironmentProtocol = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string LogsKey = "Observability:Otlp:Logs";
    public const string EnvironmentLogsExporter = "OTEL_LOGS_EXPORTER";

    /// <summary>The settings, or null when no endpoint is configured anywhere: tracing is off.</summary>
    public static OtlpSettings? Resolve(IConfiguration configuration, OtlpOptions? bound = null)
    {
        var (endpoint, endpointKey) = First(bound?.Endpoint ?? configuration[EndpointKey], EndpointKey, configuration, EnvironmentEndpoint);
        if (endpoint is null)
        {
            return null;
        }

        var (protocol, protocolKey) = First(bound?.Protocol ?? configuration[ProtocolKey], ProtocolKey, configuration, EnvironmentProtocol);
        return new OtlpSettings(endpoint.Trim(), endpointKey, protocol?.Trim() ?? OtlpOptions.GrpcProtocol, protocolKey);
    }

    public bool IsHttpProtobuf => string.Equals(Protocol, OtlpOptions.HttpProtobufProtocol, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The URL spans go to. The exporter appends <c>/v1/traces</c> only to an endpoint it read from the environment
    /// itself, never to one set in code, so the signal path is appended here, as collectors expect it.
    /// </summary>
    public Uri TracesUri() => IsHttpProtobuf
        ? new Uri(Endpoint.TrimEnd('/') + "/v1/traces", UriKind.Absolute)
        : new Uri(Endpoint, UriKind.Absolute);

    /// <summary>The URL log records go to: <c>/v1/logs</c> appended over <c>http/protobuf</c>, as for spans.</summary>
    public Uri LogsUri() => IsHttpProtobuf
        ? new Uri(Endpoint.TrimEnd('/') + "/v1/logs", UriKind.Absolute)
        : new Uri(Endpoint, UriKind.Absolute);

    /// <summary>
    /// Whether log events are exported, and the key that said so: <c>Observability:Otlp:Logs</c>, else
    /// <c>OTEL_LOGS_EXPORTER</c> (on when its list names <c>otlp</c>), else off. Unlike the OpenTelemetry SDKs, an unset
    /// <c>OTEL_LOGS_EXPORTER</c> does not mean <c>otlp</c>: an endpoint set for traces alone must not start exporting logs.
    /// </summary>
    public static (bool On, string Source) ResolveLogs(IConfiguration configuration, OtlpOptions? bound = null)
    {
        if (bound?.Logs is { } configured)
        {
            return (configured, LogsKey);
        }

        if (bound is null && bool.TryParse(configuration[LogsKey], out var fromKey))
        {
            return (fromKey, LogsKey);
        }

        var exporters = configuration[EnvironmentLogsExporter] ?? Environment.GetEnvironmentVariable(EnvironmentLogsExporter);
        if (string.IsNullOrWhiteSpace(exporters))
        {
            return (false, LogsKey);
        }

        foreach (var exporter in exporters.Split(',', StringSplitOptions.TrimEntries))
        {
            if (string.Equals(exporter, "otlp", StringComparison.OrdinalIgnoreCase))
            {
                return (true, EnvironmentLogsExporter);
            }
        }

        return (false, EnvironmentLogsExporter);
    }

    private static (string? Value, string Key) First(string? configured, string configuredKey, IConfiguration configuration, string variable)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return (configured, configuredKey);
        }

        var fromEnvironment = configuration[variable] ?? Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? (null, configuredKey) : (fromEnvironment, variable);
    }
}
