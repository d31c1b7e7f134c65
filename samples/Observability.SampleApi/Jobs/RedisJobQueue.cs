using Observability.AspNetCore;
using StackExchange.Redis;

namespace Observability.SampleApi.Jobs;

/// <summary>
/// The job queue on a Redis list (<c>LPUSH</c> to enqueue, <c>RPOP</c> polled to dequeue), used when
/// <c>ConnectionStrings:Redis</c> is set. Connects on first use and keeps retrying in the background, so a Redis that is
/// down costs enqueues a 503 and leaves the worker waiting (idle, not stalled), never a crash.
/// </summary>
internal sealed class RedisJobQueue : ISampleJobQueue, IAsyncDisposable
{
    private const string Key = "sample-api:jobs";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public RedisJobQueue(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ConnectRetry = 1;
        options.ConnectTimeout = (int)CallTimeout.TotalMilliseconds * 2;
        options.AsyncTimeout = (int)CallTimeout.TotalMilliseconds;
        options.SyncTimeout = (int)CallTimeout.TotalMilliseconds;
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(options));
    }

    public string Name => "sample-jobs";

    public async Task<bool> TryEnqueueAsync(SampleJob job, CancellationToken cancellationToken)
    {
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            await database.ListLeftPushAsync(Key, $"{job.Kind}|{job.Origin}").WaitAsync(CallTimeout, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask<SampleJob> DequeueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var database = await DatabaseAsync(cancellationToken);
                var value = await database.ListRightPopAsync(Key).WaitAsync(CallTimeout, cancellationToken);
                if (value.HasValue && Parse(value.ToString()) is { } job)
                {
                    return job;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
            {
                // Down or slow: keep waiting; the worker stays idle while it does.
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    public async ValueTask<long?> CountAsync(CancellationToken cancellationToken)
    {
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            return await database.ListLengthAsync(Key).WaitAsync(CallTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync();
        }
    }

    /// <summary><c>{kind}|{origin}</c>; an entry of another shape (not ours) is skipped.</summary>
    private static SampleJob? Parse(string value)
    {
        var bar = value.IndexOf('|', StringComparison.Ordinal);
        var kind = bar < 0 ? value : value[..bar];
        return SampleJob.Kinds.Contains(kind) ? new SampleJob(kind, JobOrigin.Parse(bar < 0 ? null : value[(bar + 1)..])) : null;
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        var connection = await _connection.Value.WaitAsync(CallTimeout * 3, cancellationToken);
        return connection.IsConnected ? connection.GetDatabase() : throw new InvalidOperationException("Redis is not connected.");
    }
}
