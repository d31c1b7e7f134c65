using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Validates <c>Observability:Otlp</c> and the <c>OTEL_EXPORTER_OTLP_*</c> values it falls back to, naming the key that
/// gave the bad value. Header values are secrets: a message names the header, never its value.
/// </summary>
internal sealed class OtlpOptionsValidator(IConfiguration configuration) : IValidateOptions<ObservabilityOptions>
{
    private const string HeadersKey = "Observability:Otlp:Headers";
    private const string EnvironmentHeaders = "OTEL_EXPORTER_OTLP_HEADERS";

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
            else if (settings.IsHttpProtobuf && EndsWithSignalPath(uri))
            {
                // The signal path is appended to this base URL, so ".../v1/traces" would send to ".../v1/traces/v1/traces".
                // Scheme, host and path only: user info or a query could hold a token.
                failures.AddError($"{settings.EndpointSource} is the collector's base URL, without '/v1/traces' or '/v1/logs' (they are appended per signal); was '{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}'.");
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

        if (otlp.Headers is not { Count: > 0 } && OtlpSettings.Resolve(configuration, otlp) is not null)
        {
            ValidateEnvironmentHeaders(configuration[EnvironmentHeaders] ?? Environment.GetEnvironmentVariable(EnvironmentHeaders), failures);
        }

        foreach (var (header, value) in otlp.Headers ?? new Dictionary<string, string>())
        {
            if (!IsToken(header))
            {
                failures.AddError($"{HeadersKey}: '{header}' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~).");
            }
            else if (string.IsNullOrEmpty(value) || value.AsSpan().IndexOfAny(",\r\n") >= 0)
            {
                // The exporter takes its headers as one "name=value,name=value" text, so a comma would split a value.
                failures.AddError($"{HeadersKey}:{header} must be a non-empty value without commas or line breaks (the value is a secret and not shown).");
            }
        }

        return failures.Build();
    }

    /// <summary>
    /// Fails startup when <c>Observability:Otlp:Headers</c> holds one text rather than a section, before the binder would
    /// quote that text (a secret) in its own message.
    /// </summary>
    public static void ThrowIfHeadersAreText(IConfiguration configuration)
    {
        if (configuration.GetSection(HeadersKey).Value is { Length: > 0 })
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ObservabilityOptions), [
                $"{HeadersKey} must be a section with one key per header, such as {HeadersKey}:x-api-key "
                + $"(Observability__Otlp__Headers__x-api-key in the environment); it was one text, not shown as it may hold a "
                + $"secret. The name=value,name=value form belongs in {EnvironmentHeaders}."]);
        }
    }

    /// <summary>
    /// Checks <c>OTEL_EXPORTER_OTLP_HEADERS</c> as the exporter reads it (URL-decoded, split at commas, each entry
    /// <c>name=value</c>), which would otherwise throw from the exporter's constructor or drop every export. Entries are
    /// named by position: a malformed one may be all secret.
    /// </summary>
    private static void ValidateEnvironmentHeaders(string? headers, ValidateOptionsResultBuilder failures)
    {
        if (string.IsNullOrEmpty(headers))
        {
            return;
        }

        // The exporter stops at a trailing comma and trims each value, so neither is a mistake here.
        var entries = Uri.UnescapeDataString(headers).Split(',');
        var count = entries.Length > 1 && entries[^1].Length == 0 ? entries.Length - 1 : entries.Length;
        for (var i = 0; i < count; i++)
        {
            var equals = entries[i].IndexOf('=', StringComparison.Ordinal);
            var problem = equals < 0 ? "is not name=value"
                : !IsToken(entries[i][..equals].Trim()) ? "does not start with an HTTP header name (letters, digits and !#$%&'*+-.^_`|~) before '='"
                : entries[i].AsSpan(equals + 1).Trim().IndexOfAny('\r', '\n') >= 0 ? "has a line break in its value"
                : null;
            if (problem is not null)
            {
                failures.AddError($"{EnvironmentHeaders}: entry {i + 1} of {count} {problem} (values are secrets and not shown; entries are separated by commas).");
            }
        }
    }

    private static bool EndsWithSignalPath(Uri uri)
    {
        var path = uri.AbsolutePath.TrimEnd('/');
        return path.EndsWith("/v1/traces", StringComparison.OrdinalIgnoreCase) || path.EndsWith("/v1/logs", StringComparison.OrdinalIgnoreCase);
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
