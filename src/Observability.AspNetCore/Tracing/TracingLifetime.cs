using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Says once at startup where spans go (never the headers), and bounds shutdown: once the app has stopped, the spans
/// still queued get at most one exporter timeout to leave. Left to disposal, the SDK waits up to 5 s for them whatever
/// the timeout, so an app configured with a 1 s timeout would still hang 5 s behind a collector that never answers.
/// </summary>
internal sealed class TracingLifetime(
    IOptions<ObservabilityOptions> options,
    IOptionsMonitor<OtlpExporterOptions> exporterOptions,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    TracerProvider provider,
    ILogger<TracingLifetime> logger,
    IServiceProvider services) : IHostedService
{
    /// <summary>What the SDK's own disposal allows the processors; never more than that.</summary>
    private const int DisposeTimeoutMs = 5000;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OtlpSettings.Resolve(configuration, options.Value.Otlp) is { } settings)
        {
            logger.TracingEnabled(settings.IsHttpProtobuf ? OtlpOptions.HttpProtobufProtocol : OtlpOptions.GrpcProtocol, settings.TracesUri(), options.Value.Otlp.SamplingRatio);
        }

        var logs = services.GetService<OtlpLogSink>();
        if (logs is not null)
        {
            logger.OtlpLogsEnabled(logs.IsGrpc ? OtlpOptions.GrpcProtocol : OtlpOptions.HttpProtobufProtocol, logs.Endpoint);
            var counters = services.GetRequiredService<MetricsRegistry>() is { Enabled: true } registry ? TracingMetrics.RegisterLogs(registry.Families) : default;
            logs.Stats.Attach(counters.Exported, counters.Dropped, services.GetRequiredService<ILoggerFactory>().CreateLogger("Observability.AspNetCore.Tracing"));
        }

        var timeout = Math.Min(exporterOptions.Get(Options.DefaultName).TimeoutMilliseconds, DisposeTimeoutMs);
        lifetime.ApplicationStopped.Register(() =>
        {
            // Both clocks start together, so spans and log records share one bound rather than waiting in turn.
            logs?.StartShutdownClock();
            provider.Shutdown(timeout);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
