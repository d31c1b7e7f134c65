using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Health;

/// <summary>
/// Readiness as the host's lifetime sees it: not ready until <c>ApplicationStarted</c>, not ready again from the moment
/// shutdown begins. Then, for <c>ShutdownDelayMs</c>, holds the shutdown before the server stops accepting requests,
/// so load balancers and Kubernetes' endpoint controllers stop routing to the instance while it still answers.
/// </summary>
/// <remarks>
/// The delay lives in <see cref="IHostedLifecycleService.StoppingAsync"/>: the host awaits it before any hosted
/// service's <c>StopAsync</c>, including the web server's, and it is bounded by <c>HostOptions.ShutdownTimeout</c>
/// (validated at startup to be longer). On SIGTERM, <c>ApplicationStopping</c> fires first, so readiness flips at once.
/// </remarks>
internal sealed class HealthLifecycle : IHostedLifecycleService
{
    private const int Starting = 0;
    private const int Started = 1;
    private const int Stopping = 2;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _delayMs;
    private int _state;
    private int _drainLogged;

    public HealthLifecycle(IHostApplicationLifetime lifetime, IOptions<ObservabilityOptions> options, TimeProvider time, ILogger<HealthLifecycle> logger)
    {
        _time = time;
        _logger = logger;
        var health = options.Value.Health;
        _delayMs = health.Enabled ? health.ShutdownDelayMs : 0;
        StartTimestamp = time.GetTimestamp();

        // Registered in the constructor: the host builds its hosted services before it starts them, so none of these can be missed.
        lifetime.ApplicationStarted.Register(static s => ((HealthLifecycle)s!).MarkStarted(), this);
        lifetime.ApplicationStopping.Register(static s => ((HealthLifecycle)s!).MarkStopping(), this);
    }

    /// <summary>When the host was built, for <c>uptimeSeconds</c>.</summary>
    public long StartTimestamp { get; }

    /// <summary><c>starting</c> or <c>stopping</c> while not ready for lifetime reasons; null when started.</summary>
    public string? NotReadyReason => Volatile.Read(ref _state) switch
    {
        Starting => "starting",
        Stopping => "stopping",
        _ => null,
    };

    public TimeSpan Uptime => _time.GetElapsedTime(StartTimestamp);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // host.StopAsync() (not a signal) calls this before ApplicationStopping: flip readiness here too.
        MarkStopping();
        if (_delayMs <= 0)
        {
            return;
        }

        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_delayMs), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The shutdown timeout ran out (or a second signal): stop now.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void MarkStarted() => Interlocked.CompareExchange(ref _state, Started, Starting);

    private void MarkStopping()
    {
        Volatile.Write(ref _state, Stopping);
        if (_delayMs > 0 && Interlocked.Exchange(ref _drainLogged, 1) == 0)
        {
            _logger.ShutdownDrainStarted(_delayMs);
        }
    }
}
