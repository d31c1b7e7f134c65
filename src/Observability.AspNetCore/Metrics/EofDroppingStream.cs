namespace Observability.AspNetCore.Metrics;

/// <summary>
/// Passes an OpenMetrics document through to <c>inner</c> without its closing <c># EOF</c> line, so a second registry can
/// be appended and the whole stays one document. The last six bytes are held back until disposal, which drops them
/// when they are the EOF line (anything else is written through). Does not own <c>inner</c>.
/// </summary>
internal sealed class EofDroppingStream(Stream inner) : Stream
{
    private static ReadOnlySpan<byte> Eof => "# EOF\n"u8;

    private readonly byte[] _held = new byte[Eof.Length];
    private int _heldCount;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Everything but the last six bytes of (held + buffer) goes out now; those six are held back.
        var total = _heldCount + buffer.Length;
        var release = total - _held.Length;
        if (release <= 0)
        {
            buffer.Span.CopyTo(_held.AsSpan(_heldCount));
            _heldCount += buffer.Length;
            return;
        }

        var fromHeld = Math.Min(release, _heldCount);
        if (fromHeld > 0)
        {
            await inner.WriteAsync(_held.AsMemory(0, fromHeld), cancellationToken);
            _held.AsSpan(fromHeld, _heldCount - fromHeld).CopyTo(_held);
            _heldCount -= fromHeld;
        }

        var fromBuffer = release - fromHeld;
        if (fromBuffer > 0)
        {
            await inner.WriteAsync(buffer[..fromBuffer], cancellationToken);
        }

        buffer[fromBuffer..].Span.CopyTo(_held.AsSpan(_heldCount));
        _heldCount += buffer.Length - fromBuffer;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override async ValueTask DisposeAsync()
    {
        if (_heldCount > 0 && !_held.AsSpan(0, _heldCount).SequenceEqual(Eof))
        {
            await inner.WriteAsync(_held.AsMemory(0, _heldCount));
        }

        _heldCount = 0;
        await base.DisposeAsync();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
