using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Sinks.OpenTelemetry;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Logs over OTLP (<c>Observability:Otlp:Logs</c>): Serilog.Sinks.OpenTelemetry in the app's one Serilog pipeline, sending
/// to the endpoint, protocol and headers the spans use, with the spans' resource. Registered only when logs over OTLP is
/// on. Events wait in the sink's bounded queue and leave in batches from its own task, never from a request; a full
/// queue drops new events. What each export became is counted by <see cref="OtlpLogExportHandler"/>.
/// </summary>
internal sealed class OtlpLogSink : IEventExportSink, IDisposable
{
    /// <summary>What the SDK's own disposal allows its processors; the spans' limit too (see TracingLifetime).</summary>
    private const int MaxShutdownMs = 5000;

    // The OpenTelemetry specification's defaults for the log batch processor (OTEL_BLRP_*), as the spans' OTEL_BSP_*.
    private const int DefaultScheduleDelayMs = 1000;
    private const int DefaultMaxQueueSize = 2048;
    private const int DefaultMaxExportBatchSize = 512;

    private readonly ILogEventSink _sink;
    private readonly OtlpLogExportHandler _handler;
    private readonly TimeSpan _shutdownLimit;
    private int _disposed;

    public OtlpLogSink(IOptions<ObservabilityOptions> options, IOptionsMonitor<OtlpExporterOptions> exporterOptions, IConfiguration configuration, ServiceIdentity identity)
    {
        var settings = OtlpSettings.Resolve(configuration, options.Value.Otlp)
            ?? throw new InvalidOperationException("Logs over OTLP is registered only with an OTLP endpoint.");
        var exporter = exporterOptions.Get(Options.DefaultName);
        Endpoint = settings.LogsUri();
        IsGrpc = !settings.IsHttpProtobuf;
        Stats = new TracingExportStats(Endpoint, Log.OtlpLogExportFailed);
        _handler = new OtlpLogExportHandler(TimeSpan.FromMilliseconds(exporter.TimeoutMilliseconds), Stats);
        _shutdownLimit = TimeSpan.FromMilliseconds(Math.Min(exporter.TimeoutMilliseconds, MaxShutdownMs));
        _sink = LoggerSinkConfiguration.CreateSink(to => to.OpenTelemetry(
            o =>
            {
                // The base endpoint is left unset, so the sink makes no trace exporter of its own.
                o.Endpoint = null;
                o.LogsEndpoint = Endpoint.ToString();
                o.Protocol = IsGrpc ? OtlpProtocol.Grpc : OtlpProtocol.HttpProtobuf;
                o.HttpMessageHandler = _handler;

                // The exports' own HTTP calls are not traced, as the trace exporter's are not.
                o.OnBeginSuppressInstrumentation = SuppressInstrumentationScope.Begin;
                // Decoded as the trace exporter decodes them (the whole text, then split), so both send the same values.
                foreach (var (name, value) in Headers(exporter.Headers is { } headers ? Uri.UnescapeDataString(headers) : null))
                {
                    o.Headers[name] = value;
                }

                foreach (var (name, value) in ResourceAttributes(identity, configuration))
                {
                    o.ResourceAttributes[name] = value;
                }

                o.BatchingOptions.BufferingTimeLimit = TimeSpan.FromMilliseconds(Positive(configuration, "OTEL_BLRP_SCHEDULE_DELAY", DefaultScheduleDelayMs));
                o.BatchingOptions.QueueLimit = Positive(configuration, "OTEL_BLRP_MAX_QUEUE_SIZE", DefaultMaxQueueSize);
                o.BatchingOptions.BatchSizeLimit = Positive(configuration, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", DefaultMaxExportBatchSize);
            },
            ignoreEnvironment: true));
    }

    /// <summary>The URL log records go to.</summary>
    public Uri Endpoint { get; }

    public bool IsGrpc { get; }

    public TracingExportStats Stats { get; }

    public void Emit(LogEvent logEvent) => _sink.Emit(logEvent);

    /// <summary>
    /// Starts the shutdown clock once (the app has stopped): from here queued records get at most the exporter timeout,
    /// never more than 5 s, to leave; what is still in flight then is dropped and counted.
    /// </summary>
    public void StartShutdownClock() => _handler.AbandonAfter(_shutdownLimit);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A host that never stopped (a failed start) gets the same bound.
        StartShutdownClock();
        (_sink as IDisposable)?.Dispose();
    }

    /// <summary>The exporter's <c>name=value,name=value</c> headers (from <c>Observability:Otlp:Headers</c> or <c>OTEL_EXPORTER_OTLP_HEADERS</c>).</summary>
    internal static IEnumerable<(string Name, string Value)> Headers(string? headers)
    {
        foreach (var pair in (headers ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                yield return (pair[..equals].Trim(), pair[(equals + 1)..].Trim());
            }
        }
    }

    /// <summary>The spans' resource: the one service identity, then whatever else <c>OTEL_RESOURCE_ATTRIBUTES</c> adds.</summary>
    internal static IEnumerable<(string Name, object Value)> ResourceAttributes(ServiceIdentity identity, IConfiguration configuration)
    {
        yield return ("service.name", identity.Name);
        yield return ("service.version", identity.Version);
        yield return ("deployment.environment.name", identity.Environment);
        var extra = configuration["OTEL_RESOURCE_ATTRIBUTES"] ?? Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES");
        foreach (var (name, value) in Headers(extra))
        {
            if (name is not ("service.name" or "service.version" or "deployment.environment.name") && value.Length > 0)
            {
                yield return (name, value);
            }
        }
    }

    private static int Positive(IConfiguration configuration, string variable, int fallback) =>
        int.TryParse(configuration[variable] ?? Environment.GetEnvironmentVariable(variable), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : fallback;
}
