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
