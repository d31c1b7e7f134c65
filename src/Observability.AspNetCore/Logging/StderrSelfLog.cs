namespace Observability.AspNetCore.Logging;

/// <summary>
/// Serilog's SelfLog (a sink that cannot write, a bad sink configuration) goes to stderr, each distinct failure once:
/// a file sink on a full or unwritable disk would otherwise repeat the same line for every event.
/// </summary>
internal static class StderrSelfLog
{
    private const int MaxDistinctMessages = 64;
    private static readonly HashSet<string> Seen = new(StringComparer.Ordinal);
    private static readonly Lock Sync = new();
    private static int _enabled;

    public static void Enable()
    {
        if (Interlocked.Exchange(ref _enabled, 1) == 0)
        {
            Serilog.Debugging.SelfLog.Enable(Write);
        }
    }

    /// <summary>Set while this flow applies a <c>Serilog</c> section, so its own configuration messages are seen whatever other hosts do.</summary>
    internal static readonly AsyncLocal<List<string>?> Captured = new();

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
                Console.Error.WriteLine("Observability: further Serilog self-log messages are suppressed.");
                return;
            }
        }

        Console.Error.WriteLine($"Observability: Serilog: {key}");
    }
}
