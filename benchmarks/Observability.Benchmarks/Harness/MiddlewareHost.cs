using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Pipeline;

namespace Observability.Benchmarks.Harness;

/// <summary>
/// Builds the library's real <see cref="ObservabilityMiddleware"/> the way <c>AddObservability()</c> +
/// <c>UseObservability()</c> do (same services, same options binding), with a configuration that turns on only the
/// pieces a benchmark measures. The host is built, not started: nothing runs in the background while measuring.
/// </summary>
public sealed class MiddlewareHost : IDisposable
{
    private readonly IHost _host;

    private MiddlewareHost(IHost host, ObservabilityMiddleware middleware)
    {
        _host = host;
        Middleware = middleware;
    }

    internal ObservabilityMiddleware Middleware { get; }

    /// <summary>The host's services, for benchmarks of what the library registers besides the middleware.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>
    /// Settings that switch every piece off except request IDs: metrics disabled, slow and hung detection off, and
    /// the completion event filtered out by the Serilog minimum level.
    /// </summary>
    public static Dictionary<string, string?> RequestIdOnly() => new()
    {
        ["Observability:Metrics:Enabled"] = "false",
        ["Observability:SlowRequests:ThresholdMs"] = "0",
        ["Observability:SlowRequests:HungAfterMs"] = "0",
        ["Serilog:MinimumLevel:Default"] = "Warning",
    };

    /// <summary>
    /// Creates the middleware. The completion events go to <paramref name="logSink"/> (by default a stream that
    /// discards: the formatting is measured, the write syscall is the load benchmark's business).
    /// </summary>
    public static MiddlewareHost Create(IDictionary<string, string?> settings, RequestDelegate next, Stream? logSink = null, Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "Observability.Benchmarks",
            EnvironmentName = Environments.Production,
            DisableDefaults = true,
        });
        builder.Configuration.AddInMemoryCollection(settings);

        // The library's buffered stdout sink, as LogOutput.Stdout() sets it up, over a stream that discards.
        builder.Services.AddSingleton(new LogOutput(logSink ?? Stream.Null));
        configure?.Invoke(builder.Services);
        builder.AddObservability();

        var host = builder.Build();
        var middleware = ActivatorUtilities.CreateInstance<ObservabilityMiddleware>(host.Services, next);
        return new MiddlewareHost(host, middleware);
    }

    /// <summary>An endpoint as routing produces it for <c>MapGet(pattern, ...)</c>, with the given extra metadata.</summary>
    public static RouteEndpoint Endpoint(string pattern, params object[] metadata) =>
        new(BenchRequest.StartResponse, RoutePatternFactory.Parse(pattern), 0, new EndpointMetadataCollection([new HttpMethodMetadata(["GET"]), .. metadata]), pattern);

    public void Dispose() => _host.Dispose();
}
