using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Health;

/// <summary>
/// Runs every check every <c>PublishIntervalMs</c> through the runner, whose results set the health gauges, so a
/// failing dependency shows in Prometheus without anyone calling the endpoints. Going through the runner (not
/// <c>HealthCheckPublisherHostedService</c>, which calls <c>HealthCheckService</c> directly) keeps the publisher inside
/// the same cache and single-flight as the probes: together they still reach a dependency at most once per window.
/// </summary>
internal sealed class HealthMetricsPublisher(IServiceProvider services, IOptions<ObservabilityOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Health.Enabled || !o.Metrics.Enabled || o.Health.PublishIntervalMs <= 0)
        {
            return;
        }

        // Off the host's start path: the first run may wait on a slow dependency.
        await Task.Yield();
        try
        {
            stoppingToken.ThrowIfCancellationRequested();
            var runner = services.GetRequiredService<HealthCheckRunner>();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(o.Health.PublishIntervalMs), time);
            do
            {
                await runner.RunAsync(tag: null, stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped, or gave up starting (a port taken) and disposed the services: end quietly, or the host
            // logs the cancelled wait as a failed BackgroundService and a Fatal on top of the real cause.
        }
    }
}
