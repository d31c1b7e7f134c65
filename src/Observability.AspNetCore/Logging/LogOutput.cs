namespace Observability.AspNetCore.Logging;

/// <summary>
/// Where the library's own log stream goes: stdout in every app, buffered (see <see cref="LogLineSink"/>). A seam only
/// for the library's tests and benchmarks, which replace the stream to read exactly the bytes a user's log shipper
/// would read; tests that read lines as soon as they are logged write each line through at once.
/// </summary>
internal sealed class LogOutput(Stream stream, bool flushEachLine = false)
{
    public Stream Stream { get; } = stream;

    /// <summary>Write every line out at once instead of buffering it up to <see cref="LogLineSink.FlushInterval"/>.</summary>
    public bool FlushEachLine { get; } = flushEachLine;

    public static LogOutput Stdout() => new(FileDescriptorStream.Open(1, Console.OpenStandardOutput));
}
