using Microsoft.Extensions.Hosting;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Tells the log pipeline when shutdown starts, so that its final stdout flush fits in what is left of
/// <see cref="HostOptions.ShutdownTimeout"/> after the requests have drained.
/// </summary>
internal sealed class LogShutdownClock(SerilogPipeline pipeline, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(static state => ((SerilogPipeline)state!).OnStopping(), pipeline);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
