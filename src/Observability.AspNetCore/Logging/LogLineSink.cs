using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The library's stdout stream. Whole lines are appended as UTF-8 to 64 KB chunks; one background thread writes each
/// chunk in one <c>write(2)</c> when it is full, or when its first line is <see cref="FlushInterval"/> old. A request
/// thread holds a lock only to copy its line: it never waits on a write (one write per event was the largest single
/// cost of a logged request, and a blocked stdout would otherwise stall every request).
/// <para>
/// The chunks are bounded by the capacity (<c>Observability:Logging:StdoutBufferBytes</c>): a slow reader is absorbed,
/// and when every chunk waits to be written a new line is dropped whole (the older lines are kept), counted in
/// <see cref="DroppedLines"/> and reported on stderr at most every <see cref="NoticeInterval"/>, by queued notices
/// that never block either (<see cref="StderrSelfLog"/>). Writing resumes when the reader drains.
/// </para>
/// <para>
/// At shutdown, <see cref="Close"/> waits for the writer while it makes progress, up to a deadline, so a stdout that
/// is read loses no line and one that is not cannot hold the process. The writer sleeps without a timer while there
/// is nothing to write: an idle app is never woken by it.
/// </para>
/// </summary>
internal sealed class LogLineSink : ILogEventSink, IDisposable
{
    /// <summary>How long a written line may wait in the buffer.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The most often a notice about dropped lines goes to stderr.</summary>
    public static readonly TimeSpan NoticeInterval = TimeSpan.FromSeconds(5);

    /// <summary>At shutdown, a writer that has written nothing for this long is given up on.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The size of one write (larger single writes raised p99; writes of at most 64 KB did not).</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>The default capacity: 8 MiB, about 15,000 completion lines.</summary>
    public const int DefaultCapacity = 8 * 1024 * 1024;

    /// <summary>The smallest capacity: two chunks, so one can be written while the other fills.</summary>
    public const int MinCapacity = 2 * ChunkSize;

    /// <summary>The size of the writes after <see cref="Close"/>, whose progress the stall timeout measures.</summary>
    private const int ClosingWriteSize = 4 * 1024;

    /// <summary>A formatted event above this size (a deep stack trace) does not keep its scratch buffers.</summary>
    private const int RetainedScratchSize = 16 * 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Stream _stream;
    private readonly ITextFormatter _formatter;
    private readonly bool _flushEachLine;
    private readonly int _maxChunks;

    /// <summary>Guards every field below it up to the writer's own: held for a copy, never for a write.</summary>
    private readonly Lock _append = new();
    private readonly Queue<Chunk> _full = new();
    private readonly Stack<byte[]> _free = new();
    private byte[] _active;
    private int _count;
    private int _chunks;
    private WriterState _state;
    private bool _closed;
    private long _dropped;
    private long _nextNoticeAt;
    private long _droppedAtNotice;

    /// <summary>Serilog events are formatted one at a time into this writer (they are rare: warnings, errors, app logs).</summary>
    private readonly Lock _format = new();
    private readonly StringWriter _text = new(CultureInfo.InvariantCulture);
    private readonly Encoder _encoder = Utf8.GetEncoder();
    private byte[] _encoded = new byte[1024];

    private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
    private readonly ManualResetEventSlim _drained = new(false, spinCount: 1);
    private readonly Thread? _writer;
    private long _writes;
    private bool _failureReported;

    public LogLineSink(LogOutput output, ITextFormatter formatter, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, MinCapacity);
        _stream = output.Stream;
        _flushEachLine = output.FlushEachLine;
        _formatter = formatter;
        _maxChunks = capacity / ChunkSize;
        _active = new byte[ChunkSize];
        _chunks = 1;
        if (!_flushEachLine)
        {
            _state = WriterState.Idle;
            _writer = new Thread(WriteChunks) { IsBackground = true, Name = "Observability log writer" };
            _writer.Start();
        }

        // A process that dies of an unhandled exception is never disposed: write out what it logged before it goes.
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
    }

    private enum WriterState
    {
        /// <summary>Writing, or about to look for work: nobody needs to wake it.</summary>
        Running,

        /// <summary>Waiting for the batch in the active chunk to age: woken early only by a full chunk.</summary>
        Batching,

        /// <summary>Nothing to write: woken by the next line.</summary>
        Idle,
    }

    /// <summary>Lines dropped since start: the buffer was full, or stdout failed.</summary>
    public long DroppedLines => Volatile.Read(ref _dropped);

    public void Emit(LogEvent logEvent)
    {
        lock (_format)
        {
            var text = _text.GetStringBuilder();
            text.Clear();
            _formatter.Format(logEvent, _text);
            var length = 0;
            foreach (var chunk in text.GetChunks())
            {
                length += Utf8.GetByteCount(chunk.Span);
            }

            if (_encoded.Length < length)
            {
                _encoded = new byte[Math.Max(length, _encoded.Length * 2)];
            }

            var written = 0;
            _encoder.Reset();
            foreach (var chunk in text.GetChunks())
            {
                written += _encoder.GetBytes(chunk.Span, _encoded.AsSpan(written), flush: false);
            }

            written += _encoder.GetBytes([], _encoded.AsSpan(written), flush: true);
            WriteLine(_encoded.AsSpan(0, written));

            if (text.Capacity > RetainedScratchSize)
            {
                text.Clear();
                text.Capacity = RetainedScratchSize;
                _encoded = new byte[1024];
            }
        }
    }

    /// <summary>Appends one complete line, already UTF-8 and ending in <c>\n</c>; never waits on the stream.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        if (_flushEachLine)
        {
            // The tests' mode: nothing is buffered, the line goes out on the calling thread.
            lock (_append)
            {
                if (!_closed)
                {
                    WriteInChunks(line);
                }
            }

            return;
        }

        bool wake;
        lock (_append)
        {
            if (_closed)
            {
                return;
            }

            if (line.Length <= ChunkSize - _count)
            {
                line.CopyTo(_active.AsSpan(_count));
                _count += line.Length;
                wake = _state == WriterState.Idle;
            }
            else
            {
                wake = AppendAcrossChunks(line);
            }

            if (wake)
            {
                _state = WriterState.Running;
            }
        }

        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>Writes out what is buffered, waiting at most about <see cref="StallTimeout"/> for a writer that makes no progress.</summary>
    public void Dispose() => Close(Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Stops taking lines and writes out the rest: waits while the writer makes progress, until <paramref name="deadline"/>
    /// (infinite: no deadline) has passed or it has been stuck for <see cref="StallTimeout"/>. Later lines are dropped.
    /// </summary>
    public void Close(TimeSpan deadline)
    {
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
        lock (_append)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _state = WriterState.Running;
        }

        if (_writer is null)
        {
            FlushStream();
            return;
        }

        _wake.Set();
        WaitForWriter(deadline);
    }

    private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => Close(StallTimeout);

    private void WaitForWriter(TimeSpan deadline)
    {
        var started = Stopwatch.GetTimestamp();
        var writes = Volatile.Read(ref _writes);
        var lastProgress = started;
        while (!_drained.Wait(100))
        {
            var now = Stopwatch.GetTimestamp();
            var seen = Volatile.Read(ref _writes);
            if (seen != writes)
            {
                writes = seen;
                lastProgress = now;
            }

            var overDeadline = deadline != Timeout.InfiniteTimeSpan && Stopwatch.GetElapsedTime(started, now) >= deadline;
            if (overDeadline || Stopwatch.GetElapsedTime(lastProgress, now) >= StallTimeout)
            {
                long waiting;
                lock (_append)
                {
                    waiting = _count;
                    foreach (var chunk in _full)
                    {
                        waiting += chunk.Count;
                    }
                }

                StderrSelfLog.Post($"Observability: stdout did not take the rest of the log at shutdown ({waiting.ToString(CultureInfo.InvariantCulture)} bytes left unwritten): it is not being read.");
                StderrSelfLog.WaitUntilWritten(TimeSpan.FromMilliseconds(200));
                return;
            }
        }
    }

    /// <summary>
    /// A line that does not fit in the active chunk starts a new one (and fills more, when longer than a chunk), if the
    /// capacity allows; otherwise it is dropped whole. Under <see cref="_append"/>; returns whether to wake the writer.
    /// </summary>
    private bool AppendAcrossChunks(ReadOnlySpan<byte> line)
    {
        var chunksForLine = (line.Length + ChunkSize - 1) / ChunkSize;
        var needed = _count > 0 ? chunksForLine : chunksForLine - 1;
        if (needed > _free.Count + _maxChunks - _chunks)
        {
            Drop();
            return false;
        }

        if (_count > 0)
        {
            QueueActive();
        }

        while (line.Length > ChunkSize)
        {
            line[..ChunkSize].CopyTo(_active);
            _count = ChunkSize;
            QueueActive();
            line = line[ChunkSize..];
        }

        line.CopyTo(_active);
        _count = line.Length;
        return _state != WriterState.Running;
    }

    private void QueueActive()
    {
        _full.Enqueue(new Chunk(_active, _count));
        _active = RentChunk();
        _count = 0;
    }

    /// <summary>Counts a dropped line and says so, at most every <see cref="NoticeInterval"/>. Under <see cref="_append"/>.</summary>
    private void Drop()
    {
        Interlocked.Increment(ref _dropped);
        NoticeDrops(Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Posts a notice of the lines dropped since the last one, once that is <see cref="NoticeInterval"/> old: from the
    /// dropping thread while stdout is stuck, from the writer once it catches up. Under <see cref="_append"/>.
    /// </summary>
    private void NoticeDrops(long now)
    {
        var dropped = Volatile.Read(ref _dropped);
        if (dropped == _droppedAtNotice || now < _nextNoticeAt)
        {
            return;
        }

        var count = dropped - _droppedAtNotice;
        _droppedAtNotice = dropped;
        _nextNoticeAt = now + (long)(NoticeInterval.TotalSeconds * Stopwatch.Frequency);
        StderrSelfLog.Post(
            $"Observability: {count.ToString(CultureInfo.InvariantCulture)} log line(s) dropped: stdout is not taking them as fast as they come " +
            $"and the {(_maxChunks * ChunkSize).ToString(CultureInfo.InvariantCulture)}-byte buffer (Observability:Logging:StdoutBufferBytes) was full; " +
            $"{dropped.ToString(CultureInfo.InvariantCulture)} in all, counted in log_lines_dropped_total.");
    }

    /// <summary>The background writer: takes full chunks first, then the active one once its batch is old enough.</summary>
    private void WriteChunks()
    {
        long batchStarted = 0;
        while (true)
        {
            _wake.Reset();
            Chunk chunk;
            TimeSpan wait;
            lock (_append)
            {
                _state = WriterState.Running;
                var now = Stopwatch.GetTimestamp();
                NoticeDrops(now);
                if (!_full.TryDequeue(out chunk) && _count > 0)
                {
                    batchStarted = batchStarted == 0 ? now : batchStarted;
                    if (_closed || Stopwatch.GetElapsedTime(batchStarted, now) >= FlushInterval)
                    {
                        chunk = new Chunk(_active, _count);
                        _active = RentChunk();
                        _count = 0;
                        batchStarted = 0;
                    }
                }

                if (chunk.Buffer is not null)
                {
                    wait = TimeSpan.Zero;
                }
                else if (_count > 0)
                {
                    wait = FlushInterval - Stopwatch.GetElapsedTime(batchStarted, now);
                    _state = WriterState.Batching;
                }
                else if (_closed)
                {
                    break;
                }
                else
                {
                    // Idle; drops not yet told of are told once their notice is due.
                    wait = Volatile.Read(ref _dropped) == _droppedAtNotice ? Timeout.InfiniteTimeSpan : Stopwatch.GetElapsedTime(now, _nextNoticeAt);
                    _state = WriterState.Idle;
                }
            }

            if (chunk.Buffer is null)
            {
                _wake.Wait(wait);
                continue;
            }

            if (Volatile.Read(ref _closed))
            {
                // At shutdown progress is what keeps Close waiting: in small writes, a slow but live reader shows some
                // within the stall timeout, where one 64 KB write to it might not finish.
                for (var offset = 0; offset < chunk.Count; offset += ClosingWriteSize)
                {
                    Write(chunk.Buffer.AsSpan(offset, Math.Min(ClosingWriteSize, chunk.Count - offset)));
                    Interlocked.Increment(ref _writes);
                }
            }
            else
            {
                Write(chunk.Buffer.AsSpan(0, chunk.Count));
                Interlocked.Increment(ref _writes);
            }
            lock (_append)
            {
                _free.Push(chunk.Buffer);
            }
        }

        FlushStream();
        _drained.Set();
    }

    /// <summary>A free chunk, or a new one (the capacity was checked by the caller). Under <see cref="_append"/>.</summary>
    private byte[] RentChunk()
    {
        if (_free.TryPop(out var chunk))
        {
            return chunk;
        }

        _chunks++;
        return new byte[ChunkSize];
    }

    /// <summary>A line longer than a chunk goes out in chunk-sized writes (one large write raised p99).</summary>
    private void WriteInChunks(ReadOnlySpan<byte> line)
    {
        for (var offset = 0; offset < line.Length; offset += ChunkSize)
        {
            Write(line.Slice(offset, Math.Min(ChunkSize, line.Length - offset)));
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _stream.Write(bytes);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
        {
            // stdout closed, full or gone: nothing to write to. Say so once and keep serving; the lines are dropped and
            // counted. A request must never fail because its log line could not be written.
            Interlocked.Add(ref _dropped, bytes.Count((byte)'\n'));
            if (!_failureReported)
            {
                _failureReported = true;
                StderrSelfLog.Post($"Observability: writing the log to stdout failed; lines are being dropped (counted in log_lines_dropped_total). {ex.Message}");
            }
        }
    }

    private void FlushStream()
    {
        try
        {
            _stream.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            // Nothing left to tell it to.
        }
    }

    private readonly record struct Chunk(byte[] Buffer, int Count);
}
