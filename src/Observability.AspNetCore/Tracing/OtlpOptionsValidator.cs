using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Validates <c>Observability:Otlp</c> and the <c>OTEL_EXPORTER_OTLP_*</c> values it falls back to, naming the key that
/// gave the bad value. Header values are secrets: a message names the header, never its value.
/// </summary>
internal sealed class OtlpOptionsValidator(IConfiguration configuration) : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var otlp = options.Otlp;
        var failures = new ValidateOptionsResultBuilder();
        if (OtlpSettings.Resolve(configuration, otlp) is { } settings)
        {
            if (!Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                failures.AddError($"{settings.EndpointSource} must be an absolute http:// or https:// URL such as http://otel-collector:4318; was '{settings.Endpoint}'.");
            }

            if (!string.Equals(settings.Protocol, OtlpOptions.GrpcProtocol, StringComparison.OrdinalIgnoreCase) && !settings.IsHttpProtobuf)
            {
                failures.AddError($"{settings.ProtocolSource} must be '{OtlpOptions.GrpcProtocol}' or '{OtlpOptions.HttpProtobufProtocol}'; was '{settings.Protocol}'.");
            }
        }
        else if (OtlpSettings.ResolveLogs(configuration, otlp) is (true, var logsSource))
        {
            failures.AddError($"{logsSource} turns logs over OTLP on, but no OTLP endpoint is configured: set {OtlpSettings.EndpointKey} or {OtlpSettings.EnvironmentEndpoint}.");
        }

        if (!(otlp.SamplingRatio is >= 0 and <= 1))
        {
            failures.AddError($"Observability:Otlp:SamplingRatio must be between 0 and 1 (1 records every trace); was {otlp.SamplingRatio}.");
        }

        foreach (var (header, value) in otlp.Headers ?? new Dictionary<string, string>())
        {
            if (!IsToken(header))
            {
                failures.AddError($"Observability:Otlp:Headers: '{header}' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~).");
            }
            else if (string.IsNullOrEmpty(value) || value.AsSpan().IndexOfAny(",\r\n") >= 0)
            {
                // The exporter takes its headers as one "name=value,name=value" text, so a comma would split a value.
                failures.AddError($"Observability:Otlp:Headers:{header} must be a non-empty value without commas or line breaks (the value is a secret and not shown).");
            }
        }

        return failures.Build();
    }

    private static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }
}
