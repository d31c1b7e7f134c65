using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Observability.AspNetCore.Health;

/// <summary>
/// The <c>redis</c> check: PING on one shared <see cref="IConnectionMultiplexer"/>, answering at once when it is not
/// connected. Our own rather than AspNetCore.HealthChecks.Redis 9.0.0: on the app's multiplexer that check's PING waits
/// in StackExchange.Redis's backlog after Redis dies, past its cancelled token, and on a connection string it connects
/// a new multiplexer per run while Redis is down (measured in docs/health.md).
/// </summary>
internal sealed class RedisHealthCheck(RedisConnectionProvider connections) : IHealthCheck
{
    public const string Name = "redis";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var multiplexer = await connections.GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!multiplexer.IsConnected)
            {
                // The multiplexer reconnects in the background; a PING now would only wait in the backlog.
                return new HealthCheckResult(
                    context.Registration.FailureStatus,
                    "Redis is not connected.",
                    new InvalidOperationException($"not connected (last failure: {connections.LastFailure?.ToString() ?? "none yet"})"));
            }

            // PingAsync takes no token; WaitAsync bounds the wait, and the multiplexer times the command out itself.
            await multiplexer.GetDatabase().PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("Redis answered PING.");
        }
        catch (Exception ex)
        {
            connections.OnFailure();
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis did not answer PING.", ex);
        }
    }
}

/// <summary>
/// The multiplexer the check uses: the app's <see cref="IConnectionMultiplexer"/> when it registered one, else one
/// connected lazily on the first run from the configured connection string, shared by every run and disposed with
/// the host. Ours never aborts on a failed connect and reconnects in the background, so a Redis that comes back is
/// seen without restarting the app.
/// </summary>
internal sealed class RedisConnectionProvider(IServiceProvider services, IOptions<ObservabilityOptions> options, IConfiguration configuration) : IAsyncDisposable
{
    /// <summary>The client name of the library's own connections in <c>CLIENT LIST</c>, unless the connection string names one.</summary>
    public const string ClientName = "observability-health";

    private readonly Lock _gate = new();
    private Task<IConnectionMultiplexer>? _connection;
    private bool _owned;
    private int _lastFailure = -1;

    /// <summary>The kind of the latest connection failure the multiplexer reported, if any.</summary>
    public ConnectionFailureType? LastFailure => Volatile.Read(ref _lastFailure) is var f and >= 0 ? (ConnectionFailureType)f : null;

    public Task<IConnectionMultiplexer> GetAsync()
    {
        lock (_gate)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled)
            {
                var app = services.GetService<IConnectionMultiplexer>();
                _owned = app is null;
                _connection = app is not null ? Task.FromResult(Watch(app)) : ConnectOwnAsync();
            }

            return _connection;
        }
    }

    public void OnFailure()
    {
        // A connect that threw (not merely "not connected yet") is retried on the next run; the multiplexer itself, once
        // created, keeps reconnecting on its own and is never replaced.
        lock (_gate)
        {
            if (_connection is { IsFaulted: true })
            {
                _connection = null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task<IConnectionMultiplexer>? connection;
        lock (_gate)
        {
            connection = _owned ? _connection : null;
            _connection = null;
        }

        if (connection is { IsCompletedSuccessfully: true })
        {
            await connection.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static ConfigurationOptions OwnOptions(HealthOptions health, IConfiguration configuration)
    {
        var redis = ConfigurationOptions.Parse(HealthConnectionStrings.Resolve(health.Redis, configuration));
        // One second over the check's timeout, so the check's own timeout fires first and reads "timed out".
        var timeoutMs = (health.Redis.TimeoutMs ?? health.TimeoutMs) + 1000;

        // Never give up connecting (Redis may be down when the app starts), one attempt per connect, each bounded by
        // about the check's timeout; and fail commands at once while disconnected instead of queueing them in the
        // backlog until the sync timeout, so a probe during an outage answers immediately.
        redis.AbortOnConnectFail = false;
        redis.ConnectRetry = 1;
        redis.ConnectTimeout = timeoutMs;
        redis.SyncTimeout = timeoutMs;
        redis.AsyncTimeout = timeoutMs;
        redis.BacklogPolicy = BacklogPolicy.FailFast;
        redis.ReconnectRetryPolicy = new LinearRetry(1000);
        redis.ClientName ??= ClientName;
        return redis;
    }

    private async Task<IConnectionMultiplexer> ConnectOwnAsync()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(OwnOptions(options.Value.Health, configuration)).ConfigureAwait(false);
        if (!multiplexer.IsConnected)
        {
            // The first attempt failed before anyone could subscribe to ConnectionFailed.
            Volatile.Write(ref _lastFailure, (int)ConnectionFailureType.UnableToConnect);
        }

        return Watch(multiplexer);
    }

    private IConnectionMultiplexer Watch(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed += (_, e) => Volatile.Write(ref _lastFailure, (int)e.FailureType);
        return multiplexer;
    }
}
