using System.Threading.Channels;

namespace Observability.SampleApi.Jobs;

/// <summary>The sample's job queue: in process, bounded (a full queue answers 503 rather than growing without limit).</summary>
internal sealed class InMemoryJobQueue : ISampleJobQueue
{
    private const int Capacity = 1000;

    private readonly Channel<SampleJob> _channel = Channel.CreateBounded<SampleJob>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    public string Name => "sample-jobs";

    public Task<bool> TryEnqueueAsync(SampleJob job, CancellationToken cancellationToken) => Task.FromResult(_channel.Writer.TryWrite(job));

    public ValueTask<long?> CountAsync(CancellationToken cancellationToken) => new(_channel.Reader.Count);

    public ValueTask<SampleJob> DequeueAsync(CancellationToken cancellationToken) => _channel.Reader.ReadAsync(cancellationToken);
}
