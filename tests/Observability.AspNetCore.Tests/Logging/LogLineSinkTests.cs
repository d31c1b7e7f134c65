using System.Text;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Parsing;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// The stdout sink under concurrent writers (every line out exactly once, whole, in each writer's order) and against a
/// stream that blocks, crawls or fails: a writer never waits on it.
/// </summary>
public sealed class LogLineSinkTests
{
    [Fact]
    public async Task Concurrent_lines_and_events_all_arrive_whole_and_in_order()
    {
        var stdout = new CapturedLog();
        const int Writers = 6;
        const int LinesPerWriter = 3_000;
        var template = new MessageTemplateParser().Parse("Event {Writer} {Sequence}");

        using (var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter()))
        {
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
            {
                for (var i = 0; i < LinesPerWriter; i++)
                {
                    if (i % 10 == 0)
                    {
                        // A Serilog event among the direct lines, through the formatter.
                        sink.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Warning, null, template, [new("Writer", new ScalarValue(w)), new("Sequence", new ScalarValue(i))]));
                    }
                    else
                    {
                        // Lengths from a few bytes to past the 64 KB buffer, non-ASCII included.
                        var padding = i % 997 == 0 ? 70_000 : i % 50;
                        sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Writer\":{w},\"Sequence\":{i},\"Pad\":\"{new string('é', padding)}\"}}\n"));
                    }
                }
            }));
            await Task.WhenAll(writers);
        }

        var lastSequence = Enumerable.Repeat(-1, Writers).ToArray();
        var count = 0;
        foreach (var e in stdout.Events())
        {
            var writer = e.TryGetProperty("Writer", out var w) ? w.GetInt32() : throw new InvalidOperationException(e.GetRawText());
            var sequence = e.GetProperty("Sequence").GetInt32();
            Assert.Equal(lastSequence[writer] + 1, sequence);
            lastSequence[writer] = sequence;
            count++;
        }

        Assert.Equal(Writers * LinesPerWriter, count);
        Assert.True(stdout.Writes < count / 10, $"{count} lines took {stdout.Writes} writes");
    }

    [Fact]
    public async Task Lines_after_idle_spells_go_out_on_the_timer_without_dispose()
    {
        var stdout = new CapturedLog();
        using var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter());
        for (var i = 1; i <= 3; i++)
        {
            sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Sequence\":{i}}}\n"));
            await Poll.UntilAsync(() => stdout.Events().Count >= i);
            Assert.Equal(Enumerable.Range(1, i), stdout.Events().Select(e => e.GetProperty("Sequence").GetInt32()));

            // Long enough for ticks that find nothing to write, which stop the timer until the next line.
            await Task.Delay(LogLineSink.FlushInterval * 4);
        }
    }

    [Fact]
    public void Lines_written_after_dispose_are_dropped_without_an_exception()
    {
        var stdout = new CapturedLog();
        var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter());
        sink.WriteLine("{\"a\":1}\n"u8);
        sink.Dispose();
        sink.WriteLine("{\"a\":2}\n"u8);
        sink.Dispose();

        Assert.Equal("{\"a\":1}\n", stdout.ToString());
    }

    [Fact]
    public async Task A_blocked_stream_never_blocks_a_writer_and_keeps_the_oldest_lines_whole()
    {
        const int Lines = 5_000;
        using var stdout = new GatedStream();
        var sink = new LogLineSink(new LogOutput(stdout), new CompactJsonFormatter(), LogLineSink.MinCapacity);

        // Bounded only so that a writer that does block fails the test instead of hanging it.
        await Task.Run(() =>
        {
            for (var i = 0; i < Lines; i++)
            {
                sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Sequence\":{i},\"Pad\":\"{new string('x', 80)}\"}}\n"));
            }
        }).WaitAsync(TimeSpan.FromSeconds(30));
        var dropped = sink.DroppedLines;

        stdout.Open();
        sink.Dispose();

        var kept = stdout.Captured.Events().Select(e => e.GetProperty("Sequence").GetInt32()).ToList();
        Assert.True(dropped > 0, "Nothing was dropped although the stream took nothing.");
        Assert.Equal(Enumerable.Range(0, kept.Count), kept);
        Assert.Equal(Lines, kept.Count + dropped);
    }

    [Fact]
    public async Task Close_gives_up_on_a_stream_that_never_takes_a_write_at_the_deadline()
    {
        using var stdout = new GatedStream();
        var sink = new LogLineSink(new LogOutput(stdout), new CompactJsonFormatter());
        sink.WriteLine("{\"a\":1}\n"u8);

        await Task.Run(() => sink.Close(TimeSpan.FromMilliseconds(300))).WaitAsync(TimeSpan.FromSeconds(30));
        sink.WriteLine("{\"a\":2}\n"u8);
        stdout.Open();
    }

    [Fact]
    public void Close_waits_for_a_slow_reader_while_it_makes_progress()
    {
        const int Lines = 12_000;
        var stdout = new CapturedLog();
        var sink = new LogLineSink(new LogOutput(new SlowStream(stdout, TimeSpan.FromMilliseconds(20))), new CompactJsonFormatter());
        for (var i = 0; i < Lines; i++)
        {
            sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Sequence\":{i},\"Pad\":\"{new string('x', 80)}\"}}\n"));
        }

        // ~1.1 MB in 64 KB writes of 20 ms each: longer than nothing, shorter than the stall timeout per write.
        sink.Dispose();

        Assert.Equal(0, sink.DroppedLines);
        Assert.Equal(Enumerable.Range(0, Lines), stdout.Events().Select(e => e.GetProperty("Sequence").GetInt32()));
    }

    [Fact]
    public void A_failing_stream_counts_every_line_as_dropped_and_never_throws()
    {
        var sink = new LogLineSink(new LogOutput(new FailingStream()), new CompactJsonFormatter());
        for (var i = 0; i < 100; i++)
        {
            sink.WriteLine("{\"a\":1}\n"u8);
        }

        sink.Dispose();

        Assert.Equal(100, sink.DroppedLines);
    }

    /// <summary>A stream whose writes block until <see cref="Open"/>, like a pipe whose reader stopped reading.</summary>
    private sealed class GatedStream : WriteOnlyStream
    {
        private readonly ManualResetEventSlim _open = new();

        public CapturedLog Captured { get; } = new();

        public void Open() => _open.Set();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _open.Wait();
            Captured.Write(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            _open.Set();
            _open.Dispose();
            base.Dispose(disposing);
        }
    }

    private sealed class SlowStream(CapturedLog inner, TimeSpan perWrite) : WriteOnlyStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Thread.Sleep(perWrite);
            inner.Write(buffer);
        }
    }

    private sealed class FailingStream : WriteOnlyStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("No space left on device");
    }

    private abstract class WriteOnlyStream : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public abstract override void Write(ReadOnlySpan<byte> buffer);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
