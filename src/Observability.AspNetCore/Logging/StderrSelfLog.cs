using System.Collections.Concurrent;
using System.Text;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The library's own notices on stderr: Serilog's SelfLog (a sink that cannot write, a bad sink configuration) and the
/// stdout sink's reports. Each distinct SelfLog failure is written once (a file sink on a full disk would otherwise
/// repeat its line for every event).
/// <para>
/// Notices are queued and written by one background thread, never by the thread that has something to say: stderr is
/// often the same pipe as a stdout nobody reads, and a request thread must never wait on it. At most
/// <see cref="MaxQueued"/> notices wait; further ones are dropped until the queue drains.
/// </para>
/// </summary>
internal static class StderrSelfLog
{
    private const int MaxDistinctMessages = 64;
    private const int MaxQueued = 64;
    private static readonly HashSet<string> Seen = new(StringComparer.Ordinal);
    private static readonly Lock Sync = new();
    private static readonly ConcurrentQueue<string> Queue = new();
    private static readonly SemaphoreSlim Pending = new(0);
    private static int _queued;
    private static int _enabled;
    private static int _writerStarted;

    public static void Enable()
    {
        if (Interlocked.Exchange(ref _enabled, 1) == 0)
        {
            Serilog.Debugging.SelfLog.Enable(Write);
        }
    }

    /// <summary>
    /// Set while this flow applies a <c>Serilog</c> section, so its own configuration messages are seen whatever other
    /// hosts do. A holder, closed when the section is applied: work a sink starts meanwhile (an async wrapper's worker,
    /// a flush timer) keeps the flow's value, and must not go on filling a list nobody reads.
    /// </summary>
    internal static readonly AsyncLocal<SelfLogCapture?> Captured = new();

    /// <summary>A Serilog SelfLog message: written once per distinct text.</summary>
    internal static void Write(string message)
    {
        Captured.Value?.Add(message);

        // SelfLog prefixes each message with a timestamp; the rest says what failed.
        var space = message.IndexOf(' ', StringComparison.Ordinal);
        var key = space > 0 ? message[(space + 1)..] : message;
        lock (Sync)
        {
            if (Seen.Count > MaxDistinctMessages || !Seen.Add(key))
            {
                return;
            }

            if (Seen.Count > MaxDistinctMessages)
            {
                Post("Observability: further Serilog self-log messages are suppressed.");
                return;
            }
        }

        Post(NoticeFor(key));
    }

    /// <summary>
    /// The stderr line for a SelfLog message without its timestamp: the library's own notices, which it also writes
    /// through SelfLog, already say "Observability:"; Serilog's are marked as such.
    /// </summary>
    internal static string NoticeFor(string message) =>
        message.StartsWith("Observability: ", StringComparison.Ordinal) ? message : "Observability: Serilog: " + message;

    /// <summary>Queues one line for stderr; never blocks.</summary>
    internal static void Post(string line)
    {
        if (Interlocked.Increment(ref _queued) > MaxQueued)
        {
            Interlocked.Decrement(ref _queued);
            return;
        }

        Queue.Enqueue(line);
        if (Interlocked.Exchange(ref _writerStarted, 1) == 0)
        {
            new Thread(WriteQueued) { IsBackground = true, Name = "Observability stderr" }.Start();
        }

        Pending.Release();
    }

    /// <summary>Waits, at most <paramref name="timeout"/>, until every queued line has been written: before the process exits.</summary>
    internal static void WaitUntilWritten(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Volatile.Read(ref _queued) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(5);
        }
    }

    private static void WriteQueued()
    {
        var stderr = new StreamWriter(FileDescriptorStream.Open(2, Console.OpenStandardError), new UTF8Encoding(false)) { AutoFlush = true };
        while (true)
        {
            Pending.Wait();
            if (!Queue.TryDequeue(out var line))
            {
                continue;
            }

            try
            {
                stderr.WriteLine(line);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // stderr is gone too: nothing left to tell.
            }

            Interlocked.Decrement(ref _queued);
        }
    }
}

/// <summary>SelfLog messages written while one <c>Serilog</c> section is applied; at most 64, and none after <see cref="Close"/>.</summary>
internal sealed class SelfLogCapture
{
    private const int MaxMessages = 64;
    private readonly Lock _sync = new();
    private List<string>? _messages = [];

    public void Add(string message)
    {
        lock (_sync)
        {
            if (_messages is { Count: < MaxMessages } messages)
            {
                messages.Add(message);
            }
        }
    }

    /// <summary>Stops capturing and returns what was captured.</summary>
    public IReadOnlyList<string> Close()
    {
        lock (_sync)
        {
            var messages = _messages ?? [];
            _messages = null;
            return messages;
        }
    }
}
