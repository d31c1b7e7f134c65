using System.Globalization;
using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The library's stdout stream: whole lines appended as UTF-8 to one 64 KB buffer, which goes out in one
/// <c>write(2)</c> when it is full, on a short timer, and on dispose. One write per event was the largest single cost of
/// a logged request (~1.2 µs under load, by profile); one large write per flush raised p99, writes of at most 64 KB did
/// not. A line is never older than <see cref="FlushInterval"/> when it leaves the process; after SIGTERM (dispose) or an
/// unhandled exception no line is lost. Two writers share it under one lock, so lines never interleave: Serilog events
/// (formatted by the configured formatter, then encoded) and the completion lines the library encodes itself
/// (<see cref="WriteLine"/>).
/// </summary>
internal sealed class LogLineSink : ILogEventSink, IDisposable
{
    /// <summary>How long a written line may wait in the buffer.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    public const int BufferSize = 64 * 1024;

    /// <summary>A formatted event above this many characters (a deep stack trace) does not keep its text buffer.</summary>
    private const int RetainedTextCapacity = 16 * 1024;

    private readonly Stream _stream;
    private readonly ITextFormatter _formatter;
    private readonly bool _flushEachLine;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly StringWriter _text = new(CultureInfo.InvariantCulture);
    private readonly Encoder _encoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetEncoder();
    private readonly Lock _sync = new();
    private readonly Timer? _timer;
    private int _count;
    private bool _disposed;
    private bool _failureReported;

    public LogLineSink(LogOutput output, ITextFormatter formatter)
    {
        _stream = output.Stream;
        _flushEachLine = output.FlushEachLine;
        _formatter = formatter;
        if (!_flushEachLine)
        {
            _timer = new Timer(static state => ((LogLineSink)state!).FlushBuffered(), this, FlushInterval, FlushInterval);
        }

        // A process that dies of an unhandled exception is never disposed: write out what it logged before it goes.
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            var text = _text.GetStringBuilder();
            text.Clear();
            _formatter.Format(logEvent, _text);
            foreach (var chunk in text.GetChunks())
            {
                AppendChars(chunk.Span);
            }

            if (text.Capacity > RetainedTextCapacity)
            {
                text.Clear();
                text.Capacity = RetainedTextCapacity;
            }

            EndLine();
        }
    }

    /// <summary>Appends one complete line, already UTF-8 and ending in <c>\n</c>.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            if (line.Length > BufferSize - _count)
            {
                WriteBuffer();
            }

            if (line.Length > BufferSize)
            {
                // Longer than the buffer: straight out, in slices no larger than it.
                for (var offset = 0; offset < line.Length; offset += BufferSize)
                {
                    WriteToStream(line.Slice(offset, Math.Min(BufferSize, line.Length - offset)));
                }
            }
            else
            {
                line.CopyTo(_buffer.AsSpan(_count));
                _count += line.Length;
            }

            EndLine();
        }
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
        _timer?.Dispose();
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            WriteBuffer();
            try
            {
                _stream.Flush();
            }
            catch (IOException)
            {
                // Nothing left to tell it to.
            }
        }
    }

    private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => FlushBuffered();

    private void FlushBuffered()
    {
        lock (_sync)
        {
            if (!_disposed)
            {
                WriteBuffer();
            }
        }
    }

    private void EndLine()
    {
        if (_flushEachLine)
        {
            WriteBuffer();
        }
    }

    private void AppendChars(ReadOnlySpan<char> chars)
    {
        while (true)
        {
            if (BufferSize - _count < 8)
            {
                // Room for any one character's bytes, so the encoder always makes progress.
                WriteBuffer();
            }

            _encoder.Convert(chars, _buffer.AsSpan(_count), flush: false, out var charsUsed, out var bytesUsed, out _);
            _count += bytesUsed;
            chars = chars[charsUsed..];
            if (chars.IsEmpty)
            {
                return;
            }
        }
    }

    private void WriteBuffer()
    {
        if (_count == 0)
        {
            return;
        }

        WriteToStream(_buffer.AsSpan(0, _count));
        _count = 0;
    }

    private void WriteToStream(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _stream.Write(bytes);
        }
        catch (IOException ex)
        {
            // stdout closed or full: nothing to write to. Say so once on stderr and keep serving; the lines are dropped.
            if (!_failureReported)
            {
                _failureReported = true;
                StderrSelfLog.Write($"- Writing the log to stdout failed; lines are being dropped. {ex.Message}");
            }
        }
    }
}
