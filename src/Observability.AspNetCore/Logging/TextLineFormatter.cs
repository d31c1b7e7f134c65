using System.Buffers;
using System.Globalization;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// The Text format, made so that a reader cannot be fooled: every control character in the rendered event (a path
/// with <c>%0a</c>, a header, a message) is escaped, so only the formatter starts a line, and every event line starts
/// with <c>[</c>. An exception follows as continuation lines indented by four spaces, which no event line starts with.
/// </summary>
internal sealed class TextLineFormatter : ITextFormatter
{
    private const string Indent = "    ";

    private static readonly SearchValues<char> Controls = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7f, 0x21)).Select(static c => (char)c)) + "\u2028\u2029");

    [ThreadStatic]
    private static StringWriter? t_scratch;

    private readonly MessageTemplateTextFormatter _line = new("[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj} {RequestId}");

    public void Format(LogEvent logEvent, TextWriter output)
    {
        var scratch = t_scratch ??= new StringWriter(CultureInfo.InvariantCulture);
        var text = scratch.GetStringBuilder();
        text.Clear();
        _line.Format(logEvent, scratch);
        foreach (var chunk in text.GetChunks())
        {
            WriteEscaped(chunk.Span, output);
        }

        output.Write('\n');
        if (logEvent.Exception is not null)
        {
            var remaining = logEvent.Exception.ToString().AsSpan();
            while (!remaining.IsEmpty)
            {
                var end = remaining.IndexOf('\n');
                var line = end < 0 ? remaining : remaining[..end];
                remaining = end < 0 ? default : remaining[(end + 1)..];
                output.Write(Indent);
                WriteEscaped(line.TrimEnd('\r'), output);
                output.Write('\n');
            }
        }

        if (text.Capacity > 16 * 1024)
        {
            t_scratch = null;
        }
    }

    /// <summary>Writes <paramref name="text"/> with C0 and C1 controls, DEL and the Unicode line separators escaped.</summary>
    internal static void WriteEscaped(ReadOnlySpan<char> text, TextWriter output)
    {
        while (!text.IsEmpty)
        {
            var next = IndexOfControl(text);
            if (next < 0)
            {
                output.Write(text);
                return;
            }

            output.Write(text[..next]);
            var c = text[next];
            switch (c)
            {
                case '\n':
                    output.Write("\\n");
                    break;
                case '\r':
                    output.Write("\\r");
                    break;
                case '\t':
                    output.Write("\\t");
                    break;
                default:
                    output.Write("\\u");
                    output.Write(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }

            text = text[(next + 1)..];
        }
    }

    private static int IndexOfControl(ReadOnlySpan<char> text) => text.IndexOfAny(Controls);
}
