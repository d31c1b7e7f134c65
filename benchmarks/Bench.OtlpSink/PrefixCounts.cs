namespace Observability.Benchmarks.OtlpSink;

/// <summary>What one variant (one path prefix) has exported so far.</summary>
internal sealed class PrefixCounts
{
    private long _requests;
    private long _bytes;
    private long _spans;

    public long Requests => Interlocked.Read(ref _requests);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Spans => Interlocked.Read(ref _spans);

    public void Add(long bytes, long spans)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _spans, spans);
    }
}
