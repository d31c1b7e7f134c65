using Serilog.Core;

namespace Observability.AspNetCore.Core;

/// <summary>
/// A sink that takes log events as events, not as text: the log pipeline hands it every event, the completion event
/// included even when that event's stdout line is encoded directly. Here because Logging writes to it and the OTLP
/// feature (logs over OTLP) provides it.
/// </summary>
internal interface IEventExportSink : ILogEventSink
{
}
