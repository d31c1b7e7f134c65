using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Core;

/// <summary>
/// Who this service is, resolved once: the name, version and environment written as <c>Service</c>, <c>Version</c> and
/// <c>Environment</c> on every log event, as the labels of <c>app_info</c> and as the resource of exported spans, so
/// logs, metrics and traces agree. The name: <c>Observability:ServiceName</c>, else OpenTelemetry's standard
/// <c>OTEL_SERVICE_NAME</c>, else the application name.
/// </summary>
internal sealed class ServiceIdentity
{
    public const string OtelServiceNameVariable = "OTEL_SERVICE_NAME";

    public ServiceIdentity(IOptions<ObservabilityOptions> options, IHostEnvironment environment, IConfiguration? configuration = null)
    {
        var otelName = configuration?[OtelServiceNameVariable] ?? System.Environment.GetEnvironmentVariable(OtelServiceNameVariable);
        Name = options.Value.ServiceName ?? (string.IsNullOrWhiteSpace(otelName) ? null : otelName.Trim()) ?? environment.ApplicationName;
        Version = options.Value.ServiceVersion ?? ResolveVersion(environment.ApplicationName);
        Environment = environment.EnvironmentName;
    }

    public string Name { get; }

    public string Version { get; }

    public string Environment { get; }

    private static string ResolveVersion(string applicationName)
    {
        Assembly? assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(applicationName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
        {
            assembly = Assembly.GetEntryAssembly();
        }

        var version = assembly?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly?.GetName().Version?.ToString()
            ?? "0.0.0";

        // The SDK appends "+<commit sha>"; 40 characters more on every log line is a cost, not information.
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus > 0 ? version[..plus] : version;
    }
}
