namespace Observability.SampleApi.Jobs;

/// <summary>Where <c>POST /api/jobs/{kind}</c> puts a job and the worker takes it: in process, or a Redis list.</summary>
internal interface ISampleJobQueue
{
    /// <summary>The queue's name in <c>job_queue_depth{queue}</c>.</summary>
    string Name { get; }

    /// <summary>False when the queue is full or cannot be reached: the endpoint answers 503.</summary>
    Task<bool> TryEnqueueAsync(SampleJob job, CancellationToken cancellationToken);

    /// <summary>Waits for the next job; a queue that cannot be reached is waited on, not failed.</summary>
    ValueTask<SampleJob> DequeueAsync(CancellationToken cancellationToken);

    /// <summary>Jobs waiting, or null when the queue cannot be reached.</summary>
    ValueTask<long?> CountAsync(CancellationToken cancellationToken);
}
