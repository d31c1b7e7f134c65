using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Status = OpenTelemetry.Proto.Trace.V1.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// An OTLP receiver on two free loopback ports, real Kestrel accepting what a collector accepts: on its HTTP port POST
/// <c>/v1/traces</c> and <c>/v1/logs</c> with <c>application/x-protobuf</c> (gzip or not), on its gRPC port (HTTP/2
/// without TLS) the <c>TraceService/Export</c> and <c>LogsService/Export</c> methods, served by Grpc.AspNetCore from the
/// OTLP <c>.proto</c> files. Every span and log record is decoded and kept. Anything else answers 404 (a wrong path) or 415 (a wrong content type) and is counted, so an exporter
/// posting to the wrong place fails the test.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    public const string TracesPath = "/v1/traces";
    public const string LogsPath = "/v1/logs";
    private const string ProtobufContentType = "application/x-protobuf";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<ReceivedLogRecord> _logs = new();
    private readonly ConcurrentQueue<string> _rejected = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base URL to configure as the <c>http/protobuf</c> endpoint, e.g. <c>http://127.0.0.1:41234</c> (no signal path).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>The URL to configure as the <c>grpc</c> endpoint.</summary>
    public string GrpcEndpoint { get; private set; } = "";

    /// <summary>Export calls that arrived over gRPC.</summary>
    public int GrpcExports => Volatile.Read(ref _grpcExports);

    private int _grpcExports;

    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();

    public IReadOnlyList<ReceivedLogRecord> LogRecords => _logs.ToArray();

    /// <summary>Export calls of log records, over either protocol.</summary>
    public int LogExports => Volatile.Read(ref _logExports);

    private int _logExports;

    /// <summary>The headers of every accepted export request (HTTP and gRPC).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> ExportHeaders => _headers.ToArray();

    private readonly ConcurrentQueue<IReadOnlyDictionary<string, string>> _headers = new();

    /// <summary>Requests that a collector would have refused: method, path and content type.</summary>
    public IReadOnlyList<string> Rejected => _rejected.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        ListenOptions? http = null;
        ListenOptions? grpc = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => http = o);
            k.Listen(IPAddress.Loopback, 0, o => (grpc = o).Protocols = HttpProtocols.Http2);
        });
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        OtlpReceiver? created = null;
        builder.Services.AddSingleton(_ => created!);
        var app = builder.Build();
        var receiver = created = new OtlpReceiver(app);
        app.MapGrpcService<TraceServiceEndpoint>();
        app.MapGrpcService<LogsServiceEndpoint>();
        app.Map(TracesPath, receiver.ReceiveAsync);
        app.Map(LogsPath, receiver.ReceiveLogsAsync);
        app.MapFallback(receiver.Reject);
        await app.StartAsync();
        receiver.Endpoint = $"http://127.0.0.1:{((IPEndPoint)http!.EndPoint).Port}";
        receiver.GrpcEndpoint = $"http://127.0.0.1:{((IPEndPoint)grpc!.EndPoint).Port}";
        return receiver;
    }

    private Task Reject(HttpContext context)
    {
        _rejected.Enqueue($"{context.Request.Method} {context.Request.Path} ({context.Request.ContentType}, {context.Request.Protocol})");
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private void KeepHeaders(HttpContext context) =>
        _headers.Enqueue(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));

    private void Record(ExportTraceServiceRequest export)
    {
        foreach (var resourceSpans in export.ResourceSpans)
        {
            var resource = Attributes(resourceSpans.Resource?.Attributes);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                foreach (var span in scopeSpans.Spans)
                {
                    _spans.Enqueue(new ReceivedSpan(
                        Hex(span.TraceId),
                        Hex(span.SpanId),
                        span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId),
                        span.Name,
                        span.Kind,
                        scopeSpans.Scope?.Name ?? "",
                        Attributes(span.Attributes),
                        resource,
                        span.Status?.Code ?? Status.Types.StatusCode.Unset,
                        span.Events.Select(e => new ReceivedEvent(e.Name, Attributes(e.Attributes))).ToList(),
                        span.Links.Select(l => new ReceivedLink(Hex(l.TraceId), Hex(l.SpanId))).ToList()));
                }
            }
        }
    }

    private void Record(ExportLogsServiceRequest export)
    {
        Interlocked.Increment(ref _logExports);
        foreach (var resourceLogs in export.ResourceLogs)
        {
            var resource = Attributes(resourceLogs.Resource?.Attributes);
            foreach (var scopeLogs in resourceLogs.ScopeLogs)
            {
                foreach (var record in scopeLogs.LogRecords)
                {
                    _logs.Enqueue(new ReceivedLogRecord(
                        Hex(record.TraceId),
                        Hex(record.SpanId),
                        record.Flags,
                        record.SeverityNumber,
                        record.SeverityText,
                        record.Body?.StringValue,
                        scopeLogs.Scope?.Name ?? "",
                        Attributes(record.Attributes),
                        resource));
                }
            }
        }
    }

    /// <summary>The gRPC logs service a collector implements, generated from <c>logs_service.proto</c>.</summary>
    private sealed class LogsServiceEndpoint(OtlpReceiver receiver) : LogsService.LogsServiceBase
    {
        public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref receiver._grpcExports);
            receiver.KeepHeaders(context.GetHttpContext());
            receiver.Record(request);
            return Task.FromResult(new ExportLogsServiceResponse());
        }
    }

    /// <summary>The gRPC service a collector implements, generated from <c>trace_service.proto</c>.</summary>
    private sealed class TraceServiceEndpoint(OtlpReceiver receiver) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref receiver._grpcExports);
            receiver.KeepHeaders(context.GetHttpContext());
            receiver.Record(request);
            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    /// <summary>Waits until the spans received so far satisfy <paramref name="condition"/>; fails with what arrived.</summary>
    public Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> condition, TimeSpan? timeout = null) =>
        WaitForAsync(() => Spans, condition, timeout, "spans");

    /// <summary>Waits until the log records received so far satisfy <paramref name="condition"/>; fails with what arrived.</summary>
    public Task<IReadOnlyList<ReceivedLogRecord>> WaitForLogRecordsAsync(Func<IReadOnlyList<ReceivedLogRecord>, bool> condition, TimeSpan? timeout = null) =>
        WaitForAsync(() => LogRecords, condition, timeout, "log records");

    private async Task<IReadOnlyList<T>> WaitForAsync<T>(Func<IReadOnlyList<T>> received, Func<IReadOnlyList<T>, bool> condition, TimeSpan? timeout, string what)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var items = received();
            if (condition(items))
            {
                return items;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The receiver did not get the expected {what}. Received:\n{string.Join('\n', items)}\nRejected requests:\n{string.Join('\n', Rejected)}");
            }

            await Task.Delay(100);
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        if (await ReadExportAsync(context) is not { } body)
        {
            return;
        }

        Record(ExportTraceServiceRequest.Parser.ParseFrom(body));
        context.Response.ContentType = ProtobufContentType;
        await context.Response.Body.WriteAsync(new ExportTraceServiceResponse().ToByteArray(), context.RequestAborted);
    }

    private async Task ReceiveLogsAsync(HttpContext context)
    {
        if (await ReadExportAsync(context) is not { } body)
        {
            return;
        }

        Record(ExportLogsServiceRequest.Parser.ParseFrom(body));
        context.Response.ContentType = ProtobufContentType;
        await context.Response.Body.WriteAsync(new ExportLogsServiceResponse().ToByteArray(), context.RequestAborted);
    }

    /// <summary>The body of an OTLP/HTTP export, or null when a collector would refuse the request (answered here).</summary>
    private async Task<byte[]?> ReadExportAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            await Reject(context);
            return null;
        }

        if (!string.Equals(request.ContentType, ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            _rejected.Enqueue($"{request.Method} {request.Path} ({request.ContentType})");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return null;
        }

        var body = request.Body;
        if (request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }

        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, context.RequestAborted);
        KeepHeaders(context);
        return buffer.ToArray();
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static Dictionary<string, object?> Attributes(IEnumerable<KeyValue>? attributes)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var attribute in attributes ?? [])
        {
            result[attribute.Key] = Value(attribute.Value);
        }

        return result;
    }

    private static object? Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Select(Value).ToList(),
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.ToByteArray(),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One span as the receiver decoded it.</summary>
internal sealed record ReceivedSpan(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    Span.Types.SpanKind Kind,
    string Scope,
    IReadOnlyDictionary<string, object?> Attributes,
    IReadOnlyDictionary<string, object?> Resource,
    Status.Types.StatusCode Status,
    IReadOnlyList<ReceivedEvent> Events,
    IReadOnlyList<ReceivedLink> Links)
{
    public string? Attribute(string key) => Attributes.TryGetValue(key, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public override string ToString() =>
        $"{Kind} '{Name}' trace={TraceId} span={SpanId} parent={ParentSpanId} scope={Scope} status={Status} attributes={{{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}}} events=[{string.Join(", ", Events.Select(e => e.Name))}]";
}

/// <summary>One log record as the receiver decoded it.</summary>
internal sealed record ReceivedLogRecord(
    string TraceId,
    string SpanId,
    uint Flags,
    SeverityNumber Severity,
    string SeverityText,
    string? Body,
    string Scope,
    IReadOnlyDictionary<string, object?> Attributes,
    IReadOnlyDictionary<string, object?> Resource)
{
    public string? Attribute(string key) => Attributes.TryGetValue(key, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public override string ToString() =>
        $"{SeverityText}({(int)Severity}) trace={TraceId} span={SpanId} flags={Flags} scope={Scope} body='{Body}' attributes={{{string.Join(", ", Attributes.Select(a => $"{a.Key}={Show(a.Value)}"))}}}";

    private static string? Show(object? value) => value is IReadOnlyDictionary<string, object?> map
        ? "{" + string.Join(", ", map.Select(a => $"{a.Key}={Show(a.Value)}")) + "}"
        : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A span event (e.g. <c>exception</c>) as the receiver decoded it.</summary>
internal sealed record ReceivedEvent(string Name, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>A span link as the receiver decoded it: the linked span's trace and span IDs.</summary>
internal sealed record ReceivedLink(string TraceId, string SpanId);
