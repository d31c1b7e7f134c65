using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Jobs;

/// <summary>
/// Notices a <see cref="BackgroundService"/> whose <c>ExecuteAsync</c> ended with an exception: with
/// <see cref="BackgroundServiceExceptionBehavior.Ignore"/> the host keeps running without it and nothing else says so.
/// Such a service becomes a faulted worker (Unhealthy, in <c>/health/detailed</c>). Also tells the registry when the
/// host starts stopping, after which a worker loop that ends is not a fault.
/// </summary>
internal sealed class HostedServiceWatcher(IServiceProvider services, IHostApplicationLifetime lifetime, WorkerRegistry workers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(static state => ((WorkerRegistry)state!).HostStopping = true, workers);
        lifetime.ApplicationStarted.Register(static state => ((HostedServiceWatcher)state!).Watch(), this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The type's name without a generic arity (<c>QueueConsumer`1</c> is <c>QueueConsumer</c>).</summary>
    private static string NameOf(Type type) => type.Name.IndexOf('`', StringComparison.Ordinal) is var tick and > 0 ? type.Name[..tick] : type.Name;

    private void Watch()
    {
        foreach (var service in services.GetServices<IHostedService>())
        {
            if (service is BackgroundService { ExecuteTask: { } execution } background)
            {
                _ = execution.ContinueWith(
                    static (task, state) =>
                    {
                        var (registry, name) = ((WorkerRegistry, string))state!;
                        var error = task.Exception?.GetBaseException();
                        if (error is not null and not OperationCanceledException)
                        {
                            registry.GetOrAdd(name).Fault($"faulted: ExecuteAsync ended with {error.GetType().Name}: {error.Message}");
                        }
                        else if (task.IsCanceled || error is OperationCanceledException)
                        {
                            // A cancellation that is not the host stopping (an HttpClient timeout, say) ends the service all the same.
                            if (!registry.HostStopping)
                            {
                                registry.GetOrAdd(name).Fault("faulted: ExecuteAsync ended with a cancellation while the app still runs");
                            }
                        }
                    },
                    (workers, NameOf(background.GetType())),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }
}
