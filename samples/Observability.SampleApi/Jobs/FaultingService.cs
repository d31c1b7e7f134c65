namespace Observability.SampleApi.Jobs;

/// <summary>
/// A hosted service that dies, on demand (<c>Sample:FaultingServiceAfterMs</c>), to show what happens when one does:
/// with <c>BackgroundServiceExceptionBehavior.Ignore</c> the host runs on without it, and the library reports it as a
/// faulted worker (Unhealthy in <c>/health/live</c> and <c>/health/detailed</c>) instead of letting it vanish silently.
/// </summary>
internal sealed class FaultingService(int afterMs) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Delay(afterMs, stoppingToken);
        throw new InvalidOperationException("The report scheduler lost its connection and gave up.");
    }
}
