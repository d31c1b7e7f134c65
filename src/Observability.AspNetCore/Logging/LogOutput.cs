using System.Text;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Where the library's own log stream goes: stdout in every app. A seam only for the library's tests, which replace it
/// to read exactly the bytes a user's log shipper would read.
/// </summary>
internal sealed class LogOutput(TextWriter writer)
{
    public TextWriter Writer { get; } = writer;

    public static LogOutput Stdout() =>
        new(new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 64 * 1024) { AutoFlush = false });
}
