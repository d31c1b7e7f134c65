using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Hosting;
using Observability.AspNetCore.Pipeline;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The app's one Serilog pipeline: defaults first (Information, <c>Microsoft.AspNetCore</c> at Warning because the
/// completion event replaces hosting's per-request pair), then the standard <c>Serilog</c> configuration section on
/// top (levels, overrides, extra sinks), then stdout in the configured format. Built once per host, when the logger
/// factory is first resolved, so each host (and each test) has its own pipeline and no static logger is touched.
/// </summary>
internal sealed class SerilogPipeline : IDisposable
{
    private const string SerilogSectionName = "Serilog";

    /// <summary>Keys of the <c>Serilog</c> section that change only which events are written, never what a line holds.</summary>
    private static readonly HashSet<string> LevelOnlyKeys = new(StringComparer.OrdinalIgnoreCase) { "MinimumLevel", "LevelSwitches", "Using" };

    private const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj} {RequestId}{NewLine}{Exception}";

    public SerilogPipeline(
        IOptions<ObservabilityOptions> options,
        IConfiguration configuration,
        ServiceIdentity identity,
        IHttpContextAccessor accessor,
        LogOutput output,
        IEnumerable<ILogEventSink> extraSinks)
    {
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
            ? new MessageTemplateTextFormatter(TextTemplate)
            : new CompactJsonFormatter();
        var stdout = new LogLineSink(output, formatter);
        var sinks = extraSinks.ToArray();
        DirectLines = o.Logging.Format == LogFormat.Json && sinks.Length == 0 && SetsLevelsOnly(configuration.GetSection(SerilogSectionName))
            ? stdout
            : null;

        try
        {
            Logger = Configure(enricher, stdout, sinks).ReadFrom.Configuration(configuration).CreateLogger();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A broken "Serilog" section (an unknown sink, a bad argument) must not take the service down: keep logging
            // to stdout with the defaults, and say once on stderr what was wrong.
            StderrSelfLog.Write($"- The 'Serilog' configuration section could not be applied; logging to stdout with the defaults. {ex.GetType().Name}: {ex.Message}");
            Logger = Configure(enricher, stdout, sinks).CreateLogger();
        }
    }

    public Logger Logger { get; }

    /// <summary>
    /// The stdout sink, when it is the only thing an event reaches besides the level check: JSON format, no extra
    /// sink registered, and a <c>Serilog</c> section that sets levels only (no sinks, enrichers, filters or
    /// properties). Then the completion line may be written to it directly (<see cref="CompletionLineEncoder"/>);
    /// otherwise null, and every event goes through the Serilog pipeline.
    /// </summary>
    public LogLineSink? DirectLines { get; }

    public void Dispose() => Logger.Dispose();

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

            // EF Core logs every command at Information, SQL with inlined literals included; the slow-query feature
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
