using System.Diagnostics;
using System.Net;
using System.Numerics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.Core;
using Serilog.Events;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Encodes the completion event as one CLEF line, straight to UTF-8, into a per-thread buffer, then hands the line to
/// the stdout sink. The object is the one Serilog's <c>CompactJsonFormatter</c> writes for the same event (<c>@t</c>,
/// <c>@mt</c>, <c>@l</c> unless Information, <c>@tr</c>/<c>@sp</c>, the properties, the enriched <c>SourceContext</c>,
/// <c>Service</c>, <c>Version</c>, <c>Environment</c>); names, the templates and the constant tail are encoded once.
/// </summary>
internal sealed class CompletionLineEncoder
{
    private const int InitialBufferSize = 2048;

    /// <summary>Bytes the fixed parts of a line can take besides the encoded constants and the escaped strings.</summary>
    private const int FixedAllowance = 512;

    [ThreadStatic]
    private static byte[]? t_buffer;

    private readonly LogLineSink _sink;
    private readonly byte[] _template;
    private readonly byte[] _abortedTemplate;
    private readonly byte[] _tail;

    public CompletionLineEncoder(LogLineSink sink, ServiceIdentity identity)
    {
        _sink = sink;
        _template = Encoding.UTF8.GetBytes("," + Encoded("@mt", RequestCompletionLogger.TemplateText));
        _abortedTemplate = Encoding.UTF8.GetBytes("," + Encoded("@mt", RequestCompletionLogger.AbortedTemplateText));
        _tail = Encoding.UTF8.GetBytes(
            $",\"{CompletionFields.EventId.Name}\":{{\"Id\":{RequestCompletionLogger.EventIdValue},\"Name\":\"{RequestCompletionLogger.EventName}\"}}"
            + "," + Encoded(CompletionFields.SourceContext.Name, RequestCompletionLogger.SourceContextName)
            + "," + Encoded(CompletionFields.Service.Name, identity.Name)
            + "," + Encoded(CompletionFields.Version.Name, identity.Version)
            + "," + Encoded(CompletionFields.Environment.Name, identity.Environment)
            + "}\n");
    }

    public void Write(HttpRequest request, string requestId, Activity? activity, EndpointInfo endpoint, LogEventLevel level, int statusCode, DateTime timestamp, double elapsedMs, IPAddress? clientIp, string? userId, RequestDbStats? db, bool aborted)
    {
        var method = request.Method;
        var pathBase = request.PathBase.Value;
        var path = request.Path.Value;
        var route = endpoint.RouteJson;
        var size = FixedAllowance + _tail.Length + _abortedTemplate.Length + (route?.Length ?? 0)
            + Utf8JsonLine.MaxEscapedBytes(method.Length + (pathBase?.Length ?? 0) + (path?.Length ?? 0) + requestId.Length + (userId?.Length ?? 0));
        var buffer = t_buffer;
        if (buffer is null || buffer.Length < size)
        {
            buffer = new byte[Math.Max(InitialBufferSize, (int)BitOperations.RoundUpToPowerOf2((uint)size))];
            if (buffer.Length <= LogLineSink.ChunkSize)
            {
                t_buffer = buffer;
            }
        }

        var line = new Utf8JsonLine(buffer);
        line.Raw("{\"@t\":"u8);
        line.UtcTimestamp(timestamp);
        line.Raw(aborted ? _abortedTemplate : _template);
        if (level != LogEventLevel.Information)
        {
            line.Raw(",\"@l\":"u8);
            line.AsciiString(LevelName(level));
        }

        if (activity is not null)
        {
            if (activity.TraceId is var traceId && traceId != default)
            {
                line.Raw(",\"@tr\":"u8);
                line.AsciiString(traceId.ToHexString());
            }

            if (activity.SpanId is var spanId && spanId != default)
            {
                line.Raw(",\"@sp\":"u8);
                line.AsciiString(spanId.ToHexString());
            }
        }

        line.Raw(CompletionFields.RequestMethod.Json);
        line.String(method);
        line.Raw(CompletionFields.RequestPath.Json);
        line.String(pathBase, path);
        line.Raw(CompletionFields.StatusCode.Json);
        line.Number(statusCode);
        line.Raw(CompletionFields.Elapsed.Json);
        line.Milliseconds(elapsedMs);
        line.Raw(CompletionFields.RequestId.Json);
        line.String(requestId);
        if (route is not null)
        {
            line.Raw(route);
        }

        if (clientIp is not null)
        {
            line.Raw(CompletionFields.ClientIp.Json);
            line.IPAddress(clientIp);
        }

        if (userId is not null)
        {
            line.Raw(CompletionFields.UserId.Json);
            line.String(userId);
        }

        if (db is not null)
        {
            line.Raw(CompletionFields.DbCommands.Json);
            line.Number(db.Commands);
            line.Raw(CompletionFields.DbElapsed.Json);
            line.Milliseconds(db.ElapsedMs);
        }

        if (aborted)
        {
            line.Raw(CompletionFields.Aborted.Json);
            line.Raw("true"u8);
        }

        line.Raw(_tail);
        _sink.WriteLine(line.Written);
    }

    /// <summary><c>,"Route":"..."</c> for an endpoint, encoded once per endpoint.</summary>
    public static byte[] EncodeRoute(string route) => Encoding.UTF8.GetBytes("," + Encoded(CompletionFields.Route.Name, route));

    private static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "Verbose",
        LogEventLevel.Debug => "Debug",
        LogEventLevel.Warning => "Warning",
        LogEventLevel.Error => "Error",
        LogEventLevel.Fatal => "Fatal",
        _ => "Information",
    };

    /// <summary><c>"name":"value"</c> with the value escaped.</summary>
    private static string Encoded(string name, string value) =>
        "\"" + name + "\":" + Encoding.UTF8.GetString(Utf8JsonLine.Encode(value));
}
