using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Writes each event as one line and flushes it, so a line is whole when it leaves the process and nothing is lost when
/// the process ends, whichever way it ends.
/// </summary>
internal sealed class TextWriterSink(TextWriter writer, ITextFormatter formatter) : ILogEventSink, IDisposable
{
    private readonly Lock _sync = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_sync)
        {
            formatter.Format(logEvent, writer);
            writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            writer.Flush();
        }
    }
}
