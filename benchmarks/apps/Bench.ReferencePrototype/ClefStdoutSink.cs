using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace Observability.Benchmarks.Apps;

/// <summary>
/// The reference prototype's sink: each event as one compact JSON (CLEF) line, encoded as UTF-8 with
/// <see cref="Utf8JsonWriter"/> into a buffer that goes to stdout when it holds 32 KB, and at least every 200 ms.
/// </summary>
internal sealed class ClefStdoutSink : ILogEventSink, IDisposable
{
    private const int WriteAt = 32 * 1024;

    private static readonly string[] LevelNames = ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"];

    private readonly Lock _sync = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(WriteAt + 4096);
    private readonly Utf8JsonWriter _json;
    private readonly Stream _stdout = Console.OpenStandardOutput();
    private readonly Timer _timer;
    private readonly JsonValueFormatter _valueFormatter = new(typeTagName: "$type");
    private bool _disposed;

    public ClefStdoutSink()
    {
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
        _timer = new Timer(static s => ((ClefStdoutSink)s!).Flush(), this, 200, 200);
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _json.Reset(_buffer);
            _json.WriteStartObject();
            _json.WriteString("@t"u8, logEvent.Timestamp.UtcDateTime);
            _json.WriteString("@mt"u8, logEvent.MessageTemplate.Text);
            if (logEvent.Level != LogEventLevel.Information)
            {
                _json.WriteString("@l"u8, LevelNames[(int)logEvent.Level]);
            }

            if (logEvent.Exception is { } exception)
            {
                _json.WriteString("@x"u8, exception.ToString());
            }

            if (logEvent.TraceId is { } traceId)
            {
                _json.WriteString("@tr"u8, traceId.ToHexString());
            }

            if (logEvent.SpanId is { } spanId)
            {
                _json.WriteString("@sp"u8, spanId.ToHexString());
            }

            foreach (var (name, value) in logEvent.Properties)
            {
                // CLEF reserves names that start with '@': a property's own '@' is doubled.
                _json.WritePropertyName(name.StartsWith('@') ? "@" + name : name);
                WriteValue(value);
            }

            _json.WriteEndObject();
            _json.Flush();
            _buffer.Write("\n"u8);
            if (_buffer.WrittenCount >= WriteAt)
            {
                WriteOut();
            }
        }
    }

    private void WriteValue(LogEventPropertyValue value)
    {
        if (value is ScalarValue { Value: var scalar })
        {
            switch (scalar)
            {
                case null: _json.WriteNullValue(); return;
                case string s: _json.WriteStringValue(s); return;
                case int i: _json.WriteNumberValue(i); return;
                case long l: _json.WriteNumberValue(l); return;
                case double d when double.IsFinite(d): _json.WriteNumberValue(d); return;
                case decimal m: _json.WriteNumberValue(m); return;
                case bool b: _json.WriteBooleanValue(b); return;
            }
        }

        // Structures, sequences, dictionaries and other scalars: Serilog's own JSON rendering.
        var text = new StringWriter();
        _valueFormatter.Format(value, text);
        _json.WriteRawValue(text.ToString(), skipInputValidation: true);
    }

    public void Flush()
    {
        lock (_sync)
        {
            if (!_disposed && _buffer.WrittenCount > 0)
            {
                WriteOut();
            }
        }
    }

    private void WriteOut()
    {
        try
        {
            _stdout.Write(_buffer.WrittenSpan);
        }
        catch (IOException)
        {
            // A closed or full stdout drops the lines; the app keeps serving.
        }

        _buffer.ResetWrittenCount();
    }

    public void Dispose()
    {
        _timer.Dispose();
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            if (_buffer.WrittenCount > 0)
            {
                WriteOut();
            }

            _disposed = true;
        }

        _json.Dispose();
        _stdout.Dispose();
    }
}

/// <summary>
/// <c>RequestId</c> on every event written while a request runs (the app's and ASP.NET Core's own), read from the
/// current request; the completion event carries its own and is left as it is.
/// </summary>
internal sealed class RequestIdEnricher(IHttpContextAccessor accessor) : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!logEvent.Properties.ContainsKey("RequestId") && accessor.HttpContext is { } context)
        {
            logEvent.AddOrUpdateProperty(new LogEventProperty("RequestId", new ScalarValue(context.TraceIdentifier)));
        }
    }
}
