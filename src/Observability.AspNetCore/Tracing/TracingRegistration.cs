using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Instrumentation.AspNetCore;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// Tracing over OTLP, added by <c>AddObservability()</c>. With no endpoint configured only the validator is added:
/// no tracer provider, no activity listener, nothing that runs per request.
/// </summary>
internal static class TracingRegistration
{
    /// <summary>The span attribute that carries the request ID (the completion event's <c>RequestId</c>).</summary>
    public const string RequestIdAttribute = "request.id";

    /// <summary>
    /// Npgsql's own activity source: its commands' spans. Subscribed by name, which is all Npgsql.OpenTelemetry's
    /// <c>AddNpgsql()</c> does, so neither it nor Npgsql is loaded into an app that does not use them.
    /// </summary>
    private const string NpgsqlSourceName = "Npgsql";

    /// <param name="builder">The app's builder.</param>
    /// <param name="featureSources">The activity sources other features make spans on (named by the caller, so tracing knows no feature).</param>
    public static void Add(IHostApplicationBuilder builder, string[] featureSources)
    {
        var services = builder.Services;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, OtlpOptionsValidator>());
        var enabled = OtlpSettings.Resolve(builder.Configuration) is not null;
        services.TryAddSingleton(new TracingState(enabled));
        if (enabled)
        {
            AddTracing(builder, featureSources);
        }
    }

    /// <summary>
    /// Apart from <see cref="Add"/>, and never inlined into it: compiling a method loads the assemblies of every type it
    /// names, so an app without an endpoint would load the OpenTelemetry SDK, Npgsql and EF Core for nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddTracing(IHostApplicationBuilder builder, string[] featureSources)
    {
        var services = builder.Services;
        services.AddOpenTelemetry()
            .ConfigureResource(static r => r.AddDetector(static sp => new ServiceIdentityDetector(sp.GetRequiredService<ServiceIdentity>())))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddSource(NpgsqlSourceName)
                .AddSource(EfCoreCommandSpans.SourceName)
                .AddSource(featureSources)
                .SetSampler(static sp => new ParentBasedSampler(
                    new TraceIdRatioBasedSampler(sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value.Otlp.SamplingRatio)))
                .AddProcessor(CreateExportProcessor));

        services.AddOptions<AspNetCoreTraceInstrumentationOptions>().Configure<IOptions<ObservabilityOptions>>(static (o, options) =>
        {
            o.EnrichWithHttpResponse = EnrichWithRequestId;

            // Probes and scrapes are not traced (as Aspire's defaults leave health out): one span every few seconds per
            // probe, the most frequent and least useful spans of a service. Paths, because the filter runs before routing.
            var own = OwnPaths(options.Value);
            o.Filter = context => !own.Contains(context.Request.Path.Value ?? "/");
        });
        services.AddOptions<OtlpExporterOptions>().Configure<IOptions<ObservabilityOptions>>((exporter, options) =>
            ConfigureExporter(exporter, options.Value.Otlp, builder.Configuration));

        if (OtlpSettings.ResolveLogs(builder.Configuration).On)
        {
            services.AddSingleton<OtlpLogSink>();
            services.AddSingleton<Core.IEventExportSink>(static sp => sp.GetRequiredService<OtlpLogSink>());
        }

        if (AppDependencies.UsesEfCore)
        {
            AddEfCoreSpans(services);
        }

        services.AddHostedService<TracingLifetime>();
    }

    /// <summary>Never inlined into <see cref="AddTracing"/>: naming EF Core's types loads EF Core.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddEfCoreSpans(IServiceCollection services)
    {
        services.TryAddSingleton<EfCoreCommandSpans>();
        services.Add(ServiceDescriptor.Singleton(typeof(IDbContextOptionsConfiguration<>), typeof(EfCoreCommandSpansConfiguration<>)));
    }

    /// <summary>
    /// The batch processor and exporter <c>AddOtlpExporter()</c> would build, with the exporter counting its results.
    /// Options come from <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_BSP_*</c> in the environment, then ours.
    /// </summary>
    private static BaseProcessor<Activity> CreateExportProcessor(IServiceProvider services)
    {
        var exporter = services.GetRequiredService<IOptionsMonitor<OtlpExporterOptions>>().Get(Options.DefaultName);
        var options = services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        var counters = services.GetRequiredService<MetricsRegistry>() is { Enabled: true } registry ? TracingMetrics.Register(registry.Families) : default;
        var stats = new TracingExportStats(
            counters.Exported,
            counters.Dropped,
            exporter.Endpoint,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Observability.AspNetCore.Tracing"));
        var batch = exporter.BatchExportProcessorOptions;
        return new BatchActivityExportProcessor(
            new CountingOtlpExporter(exporter, stats),
            batch.MaxQueueSize,
            batch.ScheduledDelayMilliseconds,
            batch.ExporterTimeoutMilliseconds,
            batch.MaxExportBatchSize);
    }

    private static void ConfigureExporter(OtlpExporterOptions exporter, OtlpOptions options, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        // Validation at startup has already named any bad value; an unresolvable one leaves the exporter's defaults.
        if (OtlpSettings.Resolve(configuration, options) is not { } settings || !Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out _))
        {
            return;
        }

        exporter.Protocol = settings.IsHttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        exporter.Endpoint = settings.TracesUri();
        if (options.Headers is { Count: > 0 } headers)
        {
            // The exporter URL-decodes its header text, so a '%' in a configured value is escaped to reach it unchanged.
            exporter.Headers = string.Join(',', headers.Select(static h => h.Key + "=" + Uri.EscapeDataString(h.Value)));
        }
    }

    // Runs when the server span ends, only for recorded spans; the request ID is resolved by then.
    /// <summary>The paths of the library's own endpoints: metrics and the four health endpoints, as configured.</summary>
    internal static HashSet<string> OwnPaths(ObservabilityOptions options)
    {
        var paths = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (options.Metrics.Enabled)
        {
            paths.Add(options.Metrics.Path);
        }

        if (options.Health.Enabled)
        {
            var basePath = options.Health.Path.TrimEnd('/');
            paths.Add(basePath.Length == 0 ? "/" : basePath);
            paths.Add(basePath + "/live");
            paths.Add(basePath + "/ready");
            paths.Add(basePath + "/detailed");
        }

        return paths;
    }

    private static void EnrichWithRequestId(Activity activity, Microsoft.AspNetCore.Http.HttpResponse response)
    {
        if (RequestScope.Find(response.HttpContext) is { } scope)
        {
            activity.SetTag(RequestIdAttribute, scope.RequestId);
        }
    }
}

/// <summary>The resource of every span: the library's one service identity, the same as in log events and <c>app_info</c>.</summary>
internal sealed class ServiceIdentityDetector(ServiceIdentity identity) : IResourceDetector
{
    public Resource Detect() => new(
    [
        new("service.name", identity.Name),
        new("service.version", identity.Version),
        new("deployment.environment.name", identity.Environment),
    ]);
}
