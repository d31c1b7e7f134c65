using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Core;
using Observability.Benchmarks.Harness;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Observability.Benchmarks.Logging;

/// <summary>
/// Where the completion event's cost goes (the load benchmark's ablation shows it is almost all of the library's
/// overhead): the whole middleware with the event written, with its optional properties off, then the formatting and
/// the write on their own, on the library's real event (captured from its pipeline), against what a direct UTF-8
/// writer and batched writes would cost. The prototypes live here, not in the library: they size a change.
/// </summary>
[MemoryDiagnoser]
public class CompletionEventBenchmarks
{
    private MiddlewareHost _defaults = null!;
    private MiddlewareHost _withoutUserId = null!;
    private MiddlewareHost _withoutUserIdAndClientIp = null!;
    private MiddlewareHost _throughSerilog = null!;
    private MiddlewareHost _directAndExported = null!;
    private BenchRequest _request = null!;
    private LogEvent _event = null!;
    private CompactJsonFormatter _formatter = null!;
    private StreamWriter _nullWriter = null!;
    private FileStream _devNull = null!;
    private StreamWriter _devNullWriter = null!;
    private ArrayBufferWriter<byte> _utf8Buffer = null!;
    private Utf8JsonWriter _utf8Writer = null!;
    private byte[] _batch = null!;
    private int _batchLength;

    [GlobalSetup]
    public void Setup()
    {
        var items = MiddlewareHost.Endpoint("/api/items/{id:int}");
        _request = new BenchRequest("GET", "/api/items/42", items);
        _defaults = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse);
        _withoutUserId = MiddlewareHost.Create(new Dictionary<string, string?> { ["Observability:Logging:IncludeUserId"] = "false" }, BenchRequest.StartResponse);
        _withoutUserIdAndClientIp = MiddlewareHost.Create(
            new Dictionary<string, string?> { ["Observability:Logging:IncludeUserId"] = "false", ["Observability:Logging:IncludeClientIp"] = "false" },
            BenchRequest.StartResponse);

        // An extra sink (one that discards) makes every event, the completion event included, go through Serilog's pipeline.
        _throughSerilog = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse, configure: s => s.AddSingleton<ILogEventSink>(new DiscardingSink()));

        // Logs over OTLP, with the OTLP sink replaced by one that discards: the line is still written directly, and the
        // event is built and handed to the export sink alone.
        _directAndExported = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse, configure: s => s.AddSingleton<IEventExportSink>(new DiscardingSink()));

        // The library's real completion event, enriched as its pipeline enriches it, caught by an extra sink.
        var capture = new CapturingSink();
        using (var host = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse, configure: s => s.AddSingleton<ILogEventSink>(capture)))
        {
            _request.Reset();
            host.Middleware.InvokeAsync(_request.Context).GetAwaiter().GetResult();
        }

        _event = capture.Last ?? throw new InvalidOperationException("No completion event was written.");
        _formatter = new CompactJsonFormatter();
        _nullWriter = new StreamWriter(Stream.Null, new UTF8Encoding(false), 64 * 1024);
        _devNull = new FileStream("/dev/null", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        _devNullWriter = new StreamWriter(_devNull, new UTF8Encoding(false), 64 * 1024);
        _utf8Buffer = new ArrayBufferWriter<byte>(1024);
        _utf8Writer = new Utf8JsonWriter(_utf8Buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
        _batch = new byte[64 * 1024];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _defaults.Dispose();
        _withoutUserId.Dispose();
        _withoutUserIdAndClientIp.Dispose();
        _throughSerilog.Dispose();
        _directAndExported.Dispose();
        _devNullWriter.Dispose();
    }

    /// <summary>The whole middleware, all defaults, event formatted and written to a discarding stream (no syscall).</summary>
    [Benchmark]
    public Task Middleware_event_written_defaults() => Run(_defaults);

    /// <summary>
    /// The same event built as a Serilog LogEvent, enriched and formatted by CompactJsonFormatter: the path taken when
    /// another sink (here one that discards) must see it too. The difference to the defaults row is what writing the
    /// line directly saves.
    /// </summary>
    [Benchmark]
    public Task Middleware_event_written_through_Serilog_pipeline() => Run(_throughSerilog);

    /// <summary>
    /// Logs over OTLP as built: the line written directly, the event also built, enriched and handed to the export sink
    /// (one that discards). Against the row above: what keeping the direct path saves over sending everything through Serilog.
    /// </summary>
    [Benchmark]
    public Task Middleware_event_written_directly_and_exported() => Run(_directAndExported);

    /// <summary>The same with Observability:Logging:IncludeUserId=false: HttpContext.User is not read.</summary>
    [Benchmark]
    public Task Middleware_event_written_without_UserId() => Run(_withoutUserId);

    /// <summary>The same with IncludeUserId=false and IncludeClientIp=false.</summary>
    [Benchmark]
    public Task Middleware_event_written_without_UserId_ClientIp() => Run(_withoutUserIdAndClientIp);

    /// <summary>The library's event through CompactJsonFormatter into a UTF-8 StreamWriter, flushed to a discarding stream.</summary>
    [Benchmark]
    public void Clef_CompactJsonFormatter() => FormatAndFlush(_nullWriter);

    /// <summary>Prototype: the same CLEF line written as UTF-8 directly (Utf8JsonWriter), to the same discarding stream.</summary>
    [Benchmark]
    public void Clef_direct_utf8_prototype()
    {
        WriteUtf8(_event);
        Stream.Null.Write(_utf8Buffer.WrittenSpan);
    }

    /// <summary>The library's sink as it is: format, then flush, i.e. one write(2) per event (to /dev/null: the syscall, no copy).</summary>
    [Benchmark]
    public void Write_per_event_devnull() => FormatAndFlush(_devNullWriter);

    /// <summary>Prototype: direct UTF-8 into a 64 KB buffer, one write(2) per full buffer: the same bytes, ~130 events per syscall.</summary>
    [Benchmark]
    public void Write_batched_64KB_devnull()
    {
        WriteUtf8(_event);
        var line = _utf8Buffer.WrittenSpan;
        if (_batchLength + line.Length > _batch.Length)
        {
            _devNull.Write(_batch, 0, _batchLength);
            _batchLength = 0;
        }

        line.CopyTo(_batch.AsSpan(_batchLength));
        _batchLength += line.Length;
    }

    private Task Run(MiddlewareHost host)
    {
        _request.Reset();
        return host.Middleware.InvokeAsync(_request.Context);
    }

    private void FormatAndFlush(StreamWriter writer)
    {
        _formatter.Format(_event, writer);
        writer.Flush();
    }

    /// <summary>A minimal CLEF writer for the completion event's shapes (scalars and one structure); valid CLEF, one line.</summary>
    private void WriteUtf8(LogEvent e)
    {
        _utf8Buffer.ResetWrittenCount();
        _utf8Writer.Reset();
        var w = _utf8Writer;
        w.WriteStartObject();
        w.WriteString("@t"u8, e.Timestamp.UtcDateTime);
        w.WriteString("@mt"u8, e.MessageTemplate.Text);
        if (e.Level != LogEventLevel.Information)
        {
            w.WriteString("@l"u8, e.Level.ToString());
        }

        if (e.TraceId is { } traceId)
        {
            Span<byte> raw = stackalloc byte[16];
            Span<char> hex = stackalloc char[32];
            traceId.CopyTo(raw);
            Convert.TryToHexStringLower(raw, hex, out _);
            w.WriteString("@tr"u8, hex);
        }

        if (e.SpanId is { } spanId)
        {
            Span<byte> raw = stackalloc byte[8];
            Span<char> hex = stackalloc char[16];
            spanId.CopyTo(raw);
            Convert.TryToHexStringLower(raw, hex, out _);
            w.WriteString("@sp"u8, hex);
        }

        foreach (var (name, value) in e.Properties)
        {
            w.WritePropertyName(name);
            WriteValue(w, value);
        }

        w.WriteEndObject();
        w.Flush();
        _utf8Buffer.Write("\n"u8);
    }

    private static void WriteValue(Utf8JsonWriter w, LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: string s }:
                w.WriteStringValue(s);
                break;
            case ScalarValue { Value: int i }:
                w.WriteNumberValue(i);
                break;
            case ScalarValue { Value: double d }:
                w.WriteNumberValue(d);
                break;
            case ScalarValue { Value: bool b }:
                w.WriteBooleanValue(b);
                break;
            case StructureValue structure:
                w.WriteStartObject();
                foreach (var p in structure.Properties)
                {
                    w.WritePropertyName(p.Name);
                    WriteValue(w, p.Value);
                }

                w.WriteEndObject();
                break;
            default:
                w.WriteStringValue(value.ToString());
                break;
        }
    }

    private sealed class CapturingSink : ILogEventSink
    {
        public LogEvent? Last { get; private set; }

        public void Emit(LogEvent logEvent) => Last = logEvent;
    }

    private sealed class DiscardingSink : IEventExportSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}
