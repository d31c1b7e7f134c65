using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Tracing;

/// <summary>Says once at startup where spans go, so an operator can tell tracing is on and check the URL (never the headers).</summary>
internal sealed class TracingStartupLog(IOptions<ObservabilityOptions> options, IConfiguration configuration, ILogger<TracingStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OtlpSettings.Resolve(configuration, options.Value.Otlp) is { } settings)
        {
            logger.TracingEnabled(settings.IsHttpProtobuf ? OtlpOptions.HttpProtobufProtocol : OtlpOptions.GrpcProtocol, settings.TracesUri(), options.Value.Otlp.SamplingRatio);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
