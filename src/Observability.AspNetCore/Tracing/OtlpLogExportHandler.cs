using System.Net;
using System.Net.Http.Headers;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// The transport of <see cref="OtlpLogSink"/>: bounds each export by the exporter timeout (the sink sets none, and a
/// gRPC call without a deadline waits forever), counts the log records in each export and what became of them, and
/// answers a failed export as a success. The sink would otherwise retry a failed batch for up to ten minutes and then
/// drop whole queues unreported; this way a failed batch is dropped once and counted, as a failed span export is.
/// </summary>
internal sealed class OtlpLogExportHandler(TimeSpan timeout, TracingExportStats stats)
    : DelegatingHandler(new SocketsHttpHandler { ActivityHeadersPropagator = null })
{
    private const string GrpcContentType = "application/grpc";

    // gRPC's five-byte message prefix: not compressed, length 0 (an empty ExportLogsServiceResponse).
    private static readonly byte[] EmptyGrpcMessage = new byte[5];

    private readonly CancellationTokenSource _abandon = new();
    private int _abandonScheduled;

    /// <summary>Fails every export still running <paramref name="delay"/> from now, and every later one. Only the first call counts.</summary>
    public void AbandonAfter(TimeSpan delay)
    {
        if (Interlocked.Exchange(ref _abandonScheduled, 1) == 0)
        {
            _abandon.CancelAfter(delay);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var grpc = string.Equals(request.Content?.Headers.ContentType?.MediaType, GrpcContentType, StringComparison.OrdinalIgnoreCase);
        var records = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abandon.Token);
        deadline.CancelAfter(timeout);
        try
        {
            if (request.Content is not null)
            {
                // The HTTP exporter's body is already bytes; gRPC's is written on demand, so it is buffered first.
                var body = await request.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
                records = CountLogRecords(grpc && body.Length >= 5 ? body.AsSpan(5) : body);
            }

            var response = await base.SendAsync(request, deadline.Token).ConfigureAwait(false);

            // Read to the end within the deadline: a gRPC status comes in the trailers, after the body.
            await response.Content.LoadIntoBufferAsync(deadline.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode && (!grpc || GrpcStatus(response) == "0"))
            {
                stats.Record(true, records);
                return response;
            }

            response.Dispose();
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }

        stats.Record(false, records);
        return Dropped(request, grpc);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _abandon.Dispose();
        }

        base.Dispose(disposing);
    }

    private static string? GrpcStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("grpc-status", out var inHeaders) ? inHeaders.FirstOrDefault()
        : response.TrailingHeaders.TryGetValues("grpc-status", out var inTrailers) ? inTrailers.FirstOrDefault()
        : null;

    /// <summary>An answer the sink takes as success: the batch is gone, and already counted as dropped.</summary>
    private static HttpResponseMessage Dropped(HttpRequestMessage request, bool grpc)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Version = request.Version };
        if (grpc)
        {
            response.Content = new ByteArrayContent(EmptyGrpcMessage);
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(GrpcContentType);
            response.TrailingHeaders.Add("grpc-status", "0");
        }

        return response;
    }

    /// <summary>
    /// The log records in an <c>ExportLogsServiceRequest</c>, read from the wire format without decoding them:
    /// <c>resource_logs</c> is field 1 of the request, <c>scope_logs</c> field 2 of each, <c>log_records</c> field 2 of those.
    /// </summary>
    internal static int CountLogRecords(ReadOnlySpan<byte> request)
    {
        try
        {
            return Count(request, 0);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    private static int Count(ReadOnlySpan<byte> message, int depth)
    {
        var wanted = depth == 0 ? 1 : 2;
        var count = 0;
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    if ((int)(tag >> 3) == wanted)
                    {
                        count += depth == 2 ? 1 : Count(message.Slice(position, length), depth + 1);
                    }

                    position += length;
                    break;
                default:
                    // Groups (wire types 3 and 4) are not used by OTLP.
                    return count;
            }
        }

        return count;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> buffer, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = buffer[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        return value;
    }
}
