using Observability.AspNetCore;
using Observability.SampleApi.Cache;
using StackExchange.Redis;

namespace Observability.SampleApi.Jobs;

/// <summary>
/// The job queue on a Redis list (<c>LPUSH</c> to enqueue, <c>RPOP</c> polled to dequeue) over <see cref="SampleRedis"/>,
/// used when <c>ConnectionStrings:Redis</c> is set: a Redis that is down costs enqueues a 503 and leaves the worker
/// waiting (idle, not stalled), never a crash.
/// </summary>
internal sealed class RedisJobQueue(SampleRedis redis) : ISampleJobQueue
{
    private const string Key = "sample-api:jobs";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    public string Name => "sample-jobs";

    public async Task<bool> TryEnqueueAsync(SampleJob job, CancellationToken cancellationToken)
    {
        try
        {
            if (await redis.DatabaseAsync(cancellationToken) is not { } database)
            {
                return false;
            }

            await database.ListLeftPushAsync(Key, $"{job.Kind}|{job.Origin}").WaitAsync(SampleRedis.CallTimeout, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
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
                var database = await redis.DatabaseAsync(cancellationToken);
                var value = database is null ? RedisValue.Null : await database.ListRightPopAsync(Key).WaitAsync(SampleRedis.CallTimeout, cancellationToken);
                if (value.HasValue && Parse(value.ToString()) is { } job)
                {
                    return job;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
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
            return await redis.DatabaseAsync(cancellationToken) is { } database
                ? await database.ListLengthAsync(Key).WaitAsync(SampleRedis.CallTimeout, cancellationToken)
                : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary><c>{kind}|{origin}</c>; an entry of another shape (not ours) is skipped.</summary>
    private static SampleJob? Parse(string value)
    {
        var bar = value.IndexOf('|', StringComparison.Ordinal);
        var kind = bar < 0 ? value : value[..bar];
        return SampleJob.Kinds.Contains(kind) ? new SampleJob(kind, JobOrigin.Parse(bar < 0 ? null : value[(bar + 1)..])) : null;
    }
}
