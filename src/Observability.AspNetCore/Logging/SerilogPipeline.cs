using Microsoft.AspNetCore.Http;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The app's one Serilog pipeline: defaults first (Information, <c>Microsoft.AspNetCore</c> at Warning because the
/// completion event replaces hosting's per-request pair), then the standard <c>Serilog</c> configuration section on
/// top (levels, overrides, extra sinks), then stdout in the configured format. Built once per host, when the logger
/// factory is first resolved, so each host (and each test) has its own pipeline and no static logger is touched.
/// </summary>
internal sealed class SerilogPipeline : IDisposable
{
    /// <summary>The least time stdout gets at shutdown, even when draining the requests took the whole timeout.</summary>
    private static readonly TimeSpan MinFinalFlush = TimeSpan.FromMilliseconds(100);

    private readonly TimeSpan _shutdownTimeout;
    private long _stoppingAt;

    private const string SerilogSectionName = "Serilog";

    /// <summary>Keys of the <c>Serilog</c> section that change only which events are written, never what a line holds.</summary>
    private static readonly HashSet<string> LevelOnlyKeys = new(StringComparer.OrdinalIgnoreCase) { "MinimumLevel", "LevelSwitches", "Using" };

    public SerilogPipeline(
        IOptions<ObservabilityOptions> options,
        IConfiguration configuration,
        ServiceIdentity identity,
        IHttpContextAccessor accessor,
        LogOutput output,
        IEnumerable<ILogEventSink> extraSinks,
        IOptions<HostOptions> hostOptions,
        IEnumerable<IEventExportSink> exportSinks)
    {
        _shutdownTimeout = hostOptions.Value.ShutdownTimeout;
        StderrSelfLog.Enable();
        var o = options.Value;
        var enricher = new ObservabilityEnricher(
            accessor,
            o.RequestId.Header,
            new LogEventProperty(LogPropertyNames.Service, new ScalarValue(identity.Name)),
            new LogEventProperty(LogPropertyNames.Version, new ScalarValue(identity.Version)),
            new LogEventProperty(LogPropertyNames.Environment, new ScalarValue(identity.Environment)),
            new SensitiveDataRedactor((IEnumerable<string>?)o.Logging.SensitiveQueryKeys ?? LoggingOptions.DefaultSensitiveQueryKeys));
        ITextFormatter formatter = o.Logging.Format == LogFormat.Text
            ? new TextLineFormatter()
            : new CompactJsonFormatter();
        var stdout = new LogLineSink(output, formatter, o.Logging.StdoutBufferBytes);
        Stdout = stdout;
        var sinks = extraSinks.ToArray();
        var exports = exportSinks.ToArray();
        DirectLines = o.Logging.Format == LogFormat.Json && sinks.Length == 0 && SetsLevelsOnly(configuration.GetSection(SerilogSectionName))
            ? stdout
            : null;

        // A section that cannot be applied stops startup, naming the key and the value, as Observability:* keys do:
        // keeping the defaults would silently drop every configured file sink.
        try
        {
            Logger = SerilogSectionCheck.Apply(Configure(enricher, stdout, [.. sinks, .. exports]), configuration, configuration.GetSection(SerilogSectionName)).CreateLogger();
            if (exports.Length > 0)
            {
                var exportOnly = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.With(enricher);
                foreach (var export in exports)
                {
                    exportOnly.WriteTo.Sink(export);
                }

                Exports = exportOnly.CreateLogger();
            }
        }
        catch
        {
            // Startup stops here; the stdout writer's thread must not outlive the failed host.
            stdout.Close(TimeSpan.Zero);
            throw;
        }
    }

    public Logger Logger { get; }

    /// <summary>The stdout sink, for its dropped-line count.</summary>
    public LogLineSink Stdout { get; }

    /// <summary>
    /// The stdout sink, when it is the only thing an event reaches besides the level check: JSON format, no extra
    /// sink registered, and a <c>Serilog</c> section that sets levels only (no sinks, enrichers, filters or
    /// properties). Then the completion line may be written to it directly (<see cref="CompletionLineEncoder"/>);
    /// otherwise null, and every event goes through the Serilog pipeline.
    /// </summary>
    public LogLineSink? DirectLines { get; }

    /// <summary>
    /// The export sinks alone (logs over OTLP), behind the same enricher, or null when there are none. A completion event
    /// whose line goes to stdout directly is written here too, so that it is exported like every other event. They are
    /// also sinks of <see cref="Logger"/>, which disposes them.
    /// </summary>
    public Serilog.ILogger? Exports { get; }

    /// <summary>Marks the start of shutdown: from here the stdout sink has <see cref="HostOptions.ShutdownTimeout"/> to write out.</summary>
    public void OnStopping() => Interlocked.CompareExchange(ref _stoppingAt, Stopwatch.GetTimestamp(), 0);

    public void Dispose()
    {
        // stdout first, within what is left of the shutdown timeout (all of it when the host never stopped), so a stdout
        // that is not read cannot hold the process past it.
        var stoppingAt = Interlocked.Read(ref _stoppingAt);
        var left = stoppingAt == 0 ? _shutdownTimeout : _shutdownTimeout - Stopwatch.GetElapsedTime(stoppingAt);
        Stdout.Close(left > MinFinalFlush ? left : MinFinalFlush);

        try
        {
            // Disposes the other sinks; one that throws (a file sink on a full disk flushing its buffer) must not turn a
            // clean shutdown into a crash.
            Logger.Dispose();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            StderrSelfLog.Post($"Observability: a log sink failed while shutting down; its last events may be lost. {ex.GetType().Name}: {ex.Message}");
            StderrSelfLog.WaitUntilWritten(TimeSpan.FromMilliseconds(200));
        }
    }

    private static bool SetsLevelsOnly(IConfigurationSection section)
    {
        foreach (var child in section.GetChildren())
        {
            if (!LevelOnlyKeys.Contains(child.Key))
            {
                return false;
            }
        }

        return true;
    }

    private static LoggerConfiguration Configure(ILogEventEnricher enricher, ILogEventSink stdout, ILogEventSink[] sinks)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)

            // EF Core and Npgsql log every command at Information, SQL with inlined literals included; the slow-query feature
            // reports the commands that matter, redacted.
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore.Database.Command", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql.Command", LogEventLevel.Warning)

            // The framework's health-check service logs every Unhealthy run at Error with a stack trace (one a second
            // while a database is down); the library's own health events report each status change once.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
            .Enrich.With(enricher)
            .WriteTo.Sink(stdout);
        foreach (var sink in sinks)
        {
            configuration.WriteTo.Sink(sink);
        }

        return configuration;
    }
}
