using System.Collections.Concurrent;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// An OTLP/HTTP receiver on a free loopback port: real Kestrel that accepts what a collector accepts on its HTTP port
/// (POST <c>/v1/traces</c> with <c>application/x-protobuf</c>, gzip or not), decodes <c>ExportTraceServiceRequest</c>
/// with the messages compiled from the OTLP <c>.proto</c> files, and keeps every span. Anything else answers 404 (a
/// wrong path) or 415 (a wrong content type) and is counted, so an exporter posting to the wrong place fails the test.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    public const string TracesPath = "/v1/traces";
    private const string ProtobufContentType = "application/x-protobuf";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<string> _rejected = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base URL to configure as the OTLP endpoint, e.g. <c>http://127.0.0.1:41234</c> (no signal path).</summary>
    public string Endpoint { get; private set; } = "";

    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();

    /// <summary>Requests that a collector would have refused: method, path and content type.</summary>
    public IReadOnlyList<string> Rejected => _rejected.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.Run(receiver.ReceiveAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        receiver.Endpoint = $"http://127.0.0.1:{address.Port}";
        return receiver;
    }

    /// <summary>Waits until the spans received so far satisfy <paramref name="condition"/>; fails with what arrived.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var spans = Spans;
            if (condition(spans))
            {
                return spans;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The receiver did not get the expected spans. Received:\n{string.Join('\n', spans)}\nRejected requests:\n{string.Join('\n', Rejected)}");
            }

            await Task.Delay(100);
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method) || request.Path != TracesPath)
        {
            _rejected.Enqueue($"{request.Method} {request.Path} ({request.ContentType})");
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!string.Equals(request.ContentType, ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            _rejected.Enqueue($"{request.Method} {request.Path} ({request.ContentType})");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        var body = request.Body;
        if (request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }

        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, context.RequestAborted);
        var export = ExportTraceServiceRequest.Parser.ParseFrom(buffer.ToArray());
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
                        span.Events.Select(e => new ReceivedEvent(e.Name, Attributes(e.Attributes))).ToList()));
                }
            }
        }

        context.Response.ContentType = ProtobufContentType;
        await context.Response.Body.WriteAsync(new ExportTraceServiceResponse().ToByteArray(), context.RequestAborted);
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
    IReadOnlyList<ReceivedEvent> Events)
{
    public string? Attribute(string key) => Attributes.TryGetValue(key, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public override string ToString() =>
        $"{Kind} '{Name}' trace={TraceId} span={SpanId} parent={ParentSpanId} scope={Scope} status={Status} attributes={{{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}}} events=[{string.Join(", ", Events.Select(e => e.Name))}]";
}

/// <summary>A span event (e.g. <c>exception</c>) as the receiver decoded it.</summary>
internal sealed record ReceivedEvent(string Name, IReadOnlyDictionary<string, object?> Attributes);
