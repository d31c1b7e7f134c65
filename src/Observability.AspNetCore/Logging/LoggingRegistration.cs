using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.Extensions.Logging;

namespace Observability.AspNetCore.Logging;

/// <summary>The logging feature's services, added by <c>AddObservability()</c>: Serilog as the app's only provider.</summary>
internal static class LoggingRegistration
{
    public static void Add(IHostApplicationBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, LoggingOptionsValidator>());

        // Serilog replaces the providers registered so far: no Console provider printing plain text beside the JSON,
        // and one place for its levels (the "Serilog" section), so the rules that would filter it are removed. A
        // provider added later (Sentry's) stays, with the rules aimed at it alone, so it filters as its own docs say.
        builder.Logging.ClearProviders();
        builder.Logging.Configure(static o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        builder.Services.PostConfigure<LoggerFilterOptions>(static o =>
        {
            for (var i = o.Rules.Count - 1; i >= 0; i--)
            {
                if (AppliesToSerilog(o.Rules[i]))
                {
                    o.Rules.RemoveAt(i);
                }
            }

            o.MinLevel = LogLevel.Trace;
        });

        builder.Services.TryAddSingleton(static _ => LogOutput.Stdout());
        builder.Services.AddSingleton<SerilogPipeline>();
        builder.Services.AddSingleton<RequestCompletionLogger>();
        builder.Services.AddHostedService<LogShutdownClock>();

        // Added as a provider rather than by replacing the logger factory: replacing it costs a scope allocation per
        // request that a provider does not. The pipeline owns the logger and disposes (flushes) it on shutdown.
        builder.Services.AddSingleton<ILoggerProvider>(static sp => new SerilogLoggerProvider(sp.GetRequiredService<SerilogPipeline>().Logger, dispose: false));
    }

    /// <summary>A rule for every provider, or one naming Serilog's by type name or alias, as the logger factory matches them.</summary>
    private static bool AppliesToSerilog(LoggerFilterRule rule) =>
        rule.ProviderName is not { } name
        || string.Equals(name, typeof(SerilogLoggerProvider).FullName, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "Serilog", StringComparison.OrdinalIgnoreCase);
}
