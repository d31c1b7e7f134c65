using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Observability.AspNetCore;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Health;
using Observability.AspNetCore.Hosting;
using Observability.AspNetCore.Jobs;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Metrics;
using Observability.AspNetCore.Pipeline;
using Observability.AspNetCore.RequestId;
using Observability.AspNetCore.SlowQueries;
using Observability.AspNetCore.SlowRequests;
using Observability.AspNetCore.Tracing;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers Observability.AspNetCore on a host builder.</summary>
public static class ObservabilityHostingExtensions
{
    /// <summary>
    /// Adds request IDs, structured JSON logs (Serilog as the app's only logging provider, compact CLEF on stdout) and
    /// the services <c>app.UseObservability()</c> needs. Binds the <c>Observability</c> configuration section and
    /// validates it at startup; <paramref name="configure"/> runs after binding.
    /// </summary>
    /// <typeparam name="TBuilder">The host builder, e.g. <c>WebApplicationBuilder</c>.</typeparam>
    /// <param name="builder">The host builder.</param>
    /// <param name="configure">Optional changes to the bound options.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder AddObservability<TBuilder>(this TBuilder builder, Action<ObservabilityOptions>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(static d => d.ServiceType == typeof(ObservabilityMarker)))
        {
            throw new InvalidOperationException("AddObservability() was called twice. Call it once; pass a delegate to it to change options in code.");
        }

        services.AddSingleton<ObservabilityMarker>();

        // Both checks run before Bind: the binder's messages name neither an unknown key in full nor the names an enum
        // key takes, and they quote the text of a key that should be a section, secrets included.
        var configuration = builder.Configuration;
        services.AddSingleton<IConfigureOptions<ObservabilityOptions>>(new ConfigurationTextCheck(configuration));
        var options = services.AddOptions<ObservabilityOptions>()
            .Configure(_ => OtlpOptionsValidator.ThrowIfHeadersAreText(configuration))
            .Bind(configuration.GetSection(ObservabilityOptions.SectionName), static b => b.ErrorOnUnknownConfiguration = true);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, ObservabilityOptionsValidator>());
        services.AddHttpContextAccessor();
        services.AddTransient<IStartupFilter, EndpointConfigurationCheck>();

        LoggingRegistration.Add(builder);
        services.TryAddSingleton<ServiceIdentity>();
        services.TryAddSingleton<EndpointInfoCache>();
        services.TryAddSingleton(CreateMetricsRegistry);
        MetricsRegistration.Add(services);
        // Slow and hung requests and slow job runs share one budget, summarised by the slow-request monitor.
        services.TryAddSingleton(static sp => new WarningBudget(sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value.SlowRequests.MaxWarningsPerSecond));
        services.TryAddSingleton<Heartbeat>();
        HealthRegistration.Add(builder);
        SlowRequestRegistration.Add(services);
        SlowQueryRegistration.Add(services);
        JobRegistration.Add(services);
        TracingRegistration.Add(builder, [JobSpans.SourceName]);

        RequestIdRegistration.Add(services);
        return builder;
    }

    /// <summary>
    /// The one registry every feature creates its metrics from. Families of features that create theirs only when used
    /// are made here, so a scrape serves the same families in every configuration.
    /// </summary>
    private static MetricsRegistry CreateMetricsRegistry(IServiceProvider services)
    {
        var o = services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.Metrics;
        var registry = new MetricsRegistry(o.Enabled, o.Prefix);
        if (registry.Enabled)
        {
            MetricsRegistration.AddRuntimeMetrics(registry, services.GetRequiredService<ServiceIdentity>());
            LogOutputMetrics.Register(registry.Families, services.GetRequiredService<SerilogPipeline>().Stdout);
            // Served (at 0) with tracing off too, so every configuration serves the same families; when tracing is on it
            // makes them first.
            registry.Families.CreateAtFirstScrape(
                static f =>
                {
                    TracingMetrics.Register(f);
                    TracingMetrics.RegisterLogs(f);
                    return f;
                },
                static _ => { });
        }

        return registry;
    }
}
